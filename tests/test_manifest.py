"""The corpus manifest, corpus status, and fetching the corpus safely (mirror and 127.0.0.1 download)."""

from __future__ import annotations

import csv
import dataclasses
import http.server
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from assistant.config import DEFAULT_MANIFEST
from ingestion.corpus import MISMATCH, MISSING, NOT_AVAILABLE, PRESENT, corpus_status, fetch_corpus, sha256_of
from assistant.errors import CorpusError
from assistant.guard import missing_documents, named_missing_documents
from assistant.manifest import KINDS, PARSERS, PROGRAMMES, Manifest, load_manifest

EVALUATION_FORM = "h2020_rules/h2020-evaluation-form-ria-einfra.pdf"
HORIZON_EUROPE_DIRS = ("horizon_europe_rules/", "horizon_europe_work_programmes/")


@pytest.fixture(scope="module")
def sources(corpus_dir: Path) -> list[dict[str, str]]:
    """The rows of the shared corpus's SOURCES.tsv."""
    with (corpus_dir / "SOURCES.tsv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture
def evaluation_form_only(manifest: Manifest) -> Manifest:
    """A one-document manifest: the small (248 kB) evaluation form."""
    doc = dataclasses.replace(manifest.get(EVALUATION_FORM))
    return Manifest(documents=(doc,), source=manifest.source)


def files_under(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


# --- the real manifest -------------------------------------------------------------------------


def test_real_manifest_loads(manifest: Manifest) -> None:
    assert manifest.source == DEFAULT_MANIFEST
    assert len(manifest.present) == 34
    assert len(manifest.missing) >= 9
    assert len({d.id for d in manifest.documents}) == len(manifest.documents)
    for doc in manifest.documents:
        assert doc.programme in PROGRAMMES, doc.id
        assert doc.kind in KINDS, doc.id
        assert doc.parser in PARSERS, doc.id
        assert doc.language in {"en", "es"}, doc.id
        assert doc.covers, doc.id
        assert doc.covers_es, doc.id


def test_every_source_file_is_in_the_manifest_with_its_checksum(
    sources: list[dict[str, str]], manifest: Manifest
) -> None:
    assert len(sources) == 34
    for row in sources:
        doc = manifest.by_path(row["relative_path"])
        assert doc is not None, row["relative_path"]
        assert doc.present, doc.id
        assert doc.sha256 == row["sha256"], doc.id
        assert doc.size_bytes == int(row["size_bytes"]), doc.id
        assert doc.mirror_url, doc.id
        assert row["commit"] in doc.mirror_url, doc.id


def test_manifest_lists_no_present_file_beyond_the_sources(
    sources: list[dict[str, str]], manifest: Manifest
) -> None:
    assert {d.path for d in manifest.present} == {row["relative_path"] for row in sources}


def test_horizon_europe_texts_are_horizon_europe_with_distinct_citation_titles(
    sources: list[dict[str, str]], manifest: Manifest
) -> None:
    he_paths = [
        row["relative_path"] for row in sources if row["relative_path"].startswith(HORIZON_EUROPE_DIRS)
    ]
    assert len(he_paths) == 16
    for path in he_paths:
        doc = manifest.get(path)
        assert doc.programme == "horizon-europe", doc.id
        assert doc.language == "en" and doc.parser == "pdf", doc.id
        assert doc.url and doc.url.startswith("https://"), doc.id
        assert doc.names, doc.id
    pdf_titles = [d.short_title for d in manifest.present if d.parser == "pdf"]
    assert all(pdf_titles)
    assert len(set(pdf_titles)) == len(pdf_titles), sorted(t for t in pdf_titles if pdf_titles.count(t) > 1)


@pytest.mark.parametrize(
    ("doc_id", "in_title", "keyword"),
    [
        ("h2020-wp1820-general-annexes", "General Annexes", "h2020 general annexes"),
        ("h2020-rules-for-participation", "1290/2013", "1290/2013"),
        ("h2020-amga", "Annotated Model Grant Agreement", "amga"),
        (
            "eu-mexico-st-agreement",
            "United Mexican States",
            "acuerdo de cooperación científica y tecnológica",
        ),
        ("he-aga", "Annotated Grant Agreement", "annotated grant agreement"),
        ("he-eic-wp2026", "EIC", "eic accelerator"),
        ("conahcyt-puerta-horizonte-europa", "Horizonte Europa", "puerta horizonte europa"),
    ],
)
def test_key_missing_text_is_listed_with_url_and_keywords(
    manifest: Manifest, corpus_dir: Path, doc_id: str, in_title: str, keyword: str
) -> None:
    doc = manifest.get(doc_id)
    assert not doc.present
    assert in_title in doc.title
    assert doc.url
    assert doc.url.startswith("https://")
    assert keyword in doc.keywords
    assert not (corpus_dir / doc.path).exists()


def test_texts_that_arrived_are_no_longer_missing(manifest: Manifest) -> None:
    assert manifest.get("he-regulation-2021-695").present
    assert manifest.by_id("he-wp2324-general-annexes") is None  # superseded by the 2026-2027 edition
    assert manifest.get("he-wp2627-general-annexes").present
    assert manifest.get("he-programme-guide").present


@pytest.mark.parametrize(
    "question",
    [
        "What do the General Annexes say about the eligible countries?",
        "¿Qué dicen los anexos generales sobre los países elegibles para financiación?",
        "What is the funding rate of an innovation action in Horizon Europe?",
        "Which costs are eligible under the Model Grant Agreement?",
        "¿Qué costes de personal son elegibles según el acuerdo de subvención?",
        "What does the Horizon Europe Regulation say about third countries and intellectual property?",
        "Which Cluster 6 topics of the 2026-2027 work programme are on soil?",
        "When is the deadline of the MSCA Postdoctoral Fellowships 2026?",
        "What is the page limit and the TRL of a lump sum proposal?",
    ],
)
def test_a_question_on_present_texts_is_not_told_a_text_is_missing(manifest: Manifest, question: str) -> None:
    """A missing text's keywords are not words of the present texts: these questions are answered from them."""
    assert named_missing_documents(question, manifest) == []
    assert [d.id for d in missing_documents(question, manifest)] == []


@pytest.mark.parametrize(
    ("question", "doc_id"),
    [
        ("What does the Annotated Grant Agreement say about daily rates?", "he-aga"),
        ("When are the EIC Accelerator cut-off dates in 2026?", "he-eic-wp2026"),
        (
            "¿Cómo cofinancia la SECIHTI a socios mexicanos en Horizonte Europa?",
            "conahcyt-puerta-horizonte-europa",
        ),
        ("According to the Annotated Model Grant Agreement, how are daily rates calculated?", "h2020-amga"),
        (
            "What do the H2020 General Annexes say about the minimum number of participants?",
            "h2020-wp1820-general-annexes",
        ),
    ],
)
def test_a_question_on_a_missing_text_is_recognised(manifest: Manifest, question: str, doc_id: str) -> None:
    assert [d.id for d in missing_documents(question, manifest)][:1] == [doc_id]


def test_naming_a_present_text_names_no_missing_one(manifest: Manifest) -> None:
    for doc in manifest.present:
        for name in doc.names:
            assert named_missing_documents(f"What does the {name} say?", manifest) == [], (doc.id, name)


def test_every_missing_text_can_be_recognised(manifest: Manifest) -> None:
    for doc in manifest.missing:
        assert (doc.url or "").startswith("https://"), doc.id
        assert len(doc.keywords) >= 5, doc.id
        assert [k for k in doc.keywords if k != k.lower() or len(k) < 3] == [], doc.id
        assert doc.sha256 is None, doc.id
        assert not doc.ingestible, doc.id


# --- broken manifests ----------------------------------------------------------------------------

ENTRY = """
[[document]]
id = "{id}"
path = "{path}"
title = "Horizon 2020 Work Programme 2018-2020"
programme = "{programme}"
kind = "work-programme"
language = "en"
period = "2018-2020"
url = "https://example.org/wp.pdf"
parser = "pdf"
sha256 = "0f2a8707da056a5f62383602ab461db5caca567f2e5e34620ad6f2e6fd22ab62"
"""


def entry(id: str = "wp1820", path: str = "h2020_work_programmes/wp.pdf", programme: str = "h2020") -> str:
    return ENTRY.format(id=id, path=path, programme=programme)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(entry(programme="fp7"), "wp1820: programme 'fp7' not in", id="unknown-programme"),
        pytest.param(
            entry() + entry(path="h2020_work_programmes/other.pdf"), "duplicate id 'wp1820'", id="dup-id"
        ),
        pytest.param(
            entry() + entry(id="other"), "duplicate path 'h2020_work_programmes/wp.pdf'", id="dup-path"
        ),
        pytest.param(entry() + "\nthis is = not [toml\n", "is not valid TOML", id="invalid-toml"),
        pytest.param(entry() + 'colour = "blue"\n', "wp1820: unknown keys ['colour']", id="unknown-key"),
        pytest.param(
            entry().replace('kind = "work-programme"', 'kind = "memo"'), "kind 'memo'", id="unknown-kind"
        ),
        pytest.param(
            entry().replace('parser = "pdf"', 'parser = "docx"'), "parser 'docx'", id="unknown-parser"
        ),
        pytest.param(entry().replace("title = ", "heading = "), "unknown keys ['heading']", id="renamed-key"),
        pytest.param(
            "\n".join(ln for ln in entry().splitlines() if not ln.startswith("title")),
            "wp1820: title: Field required",
            id="missing-title",
        ),
        pytest.param(
            "\n".join(ln for ln in entry().splitlines() if not ln.startswith("sha256")),
            "wp1820: a present document needs its sha256",
            id="present-without-sha256",
        ),
        pytest.param(entry(path="/etc/wp.pdf"), "path must be relative", id="absolute-path"),
        pytest.param(entry(path="../outside/wp.pdf"), "path must be relative", id="parent-path"),
        pytest.param("schema_version = 1\n", "lists no documents", id="no-documents"),
    ],
)
def test_broken_manifest_is_refused_with_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "manifest.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CorpusError) as caught:
        load_manifest(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_manifest_lists_every_problem_at_once(tmp_path: Path) -> None:
    path = tmp_path / "manifest.toml"
    path.write_text(
        entry(programme="fp7") + entry(id="b", path="/abs.pdf") + 'colour = "x"\n', encoding="utf-8"
    )
    with pytest.raises(CorpusError) as caught:
        load_manifest(path)
    assert "programme 'fp7'" in str(caught.value)
    assert "b: unknown keys ['colour']" in str(caught.value)


def test_missing_manifest_file_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not found.*EUMEX_MANIFEST"):
        load_manifest(tmp_path / "nowhere.toml")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(entry().replace("[[document]]", "[document]"), id="table-instead-of-array"),
        pytest.param(entry() + "keywords = [1, 2]\n", id="keywords-not-strings"),
        pytest.param(entry() + 'present = "false"\n', id="present-as-string"),
    ],
)
def test_wrongly_typed_manifest_values_are_corpus_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "manifest.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CorpusError):
        load_manifest(path)


def test_keywords_given_as_one_string_are_not_split_into_letters(tmp_path: Path) -> None:
    path = tmp_path / "manifest.toml"
    path.write_text(entry() + 'keywords = "eligible costs"\n', encoding="utf-8")
    try:
        loaded = load_manifest(path)
    except CorpusError:
        return
    assert loaded.documents[0].keywords == ("eligible costs",)


# --- corpus status --------------------------------------------------------------------------------


def test_real_corpus_status_is_all_present(manifest: Manifest, corpus_dir: Path) -> None:
    statuses = list(corpus_status(manifest, corpus_dir))
    assert [s.document.id for s in statuses] == [d.id for d in manifest.documents]
    assert {s.document.id: s.status for s in statuses if s.document.present} == {
        d.id: PRESENT for d in manifest.present
    }
    assert {s.document.id: (s.status, s.detail) for s in statuses if not s.document.present} == {
        d.id: (NOT_AVAILABLE, d.url) for d in manifest.missing
    }


def test_status_reports_missing_and_altered_files(
    evaluation_form_only: Manifest, corpus_dir: Path, tmp_path: Path
) -> None:
    (status,) = corpus_status(evaluation_form_only, tmp_path)
    assert status.status == MISSING

    copy = tmp_path / EVALUATION_FORM
    copy.parent.mkdir(parents=True)
    data = bytearray((corpus_dir / EVALUATION_FORM).read_bytes())
    data[1000] ^= 0xFF
    copy.write_bytes(bytes(data))
    (status,) = corpus_status(evaluation_form_only, tmp_path)
    assert status.status == MISMATCH
    assert str(evaluation_form_only.documents[0].sha256)[:12] in status.detail


# --- fetching from a mirror -----------------------------------------------------------------------


def test_fetch_copies_every_present_document_then_keeps_it(
    manifest: Manifest, corpus_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "corpus"
    first = list(fetch_corpus(manifest, target, corpus_dir))
    assert [(d.id, outcome, detail) for d, outcome, detail in first] == [
        (d.id, "copied", "") for d in manifest.present
    ]
    assert files_under(target) == sorted(d.path for d in manifest.present)
    for doc in manifest.present:
        assert sha256_of(target / doc.path) == doc.sha256, doc.path

    second = list(fetch_corpus(manifest, target, corpus_dir))
    assert [(d.id, outcome) for d, outcome, _ in second] == [(d.id, "kept") for d in manifest.present]
    assert {s.status for s in corpus_status(manifest, target) if s.document.present} == {PRESENT}


def test_fetch_with_the_corpus_as_its_own_mirror_only_checks(manifest: Manifest, corpus_dir: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in corpus_dir.rglob("*") if p.is_file()}
    outcomes = list(fetch_corpus(manifest, corpus_dir, corpus_dir))
    assert {outcome for _, outcome, _ in outcomes} == {"kept"}
    assert len(outcomes) == len(manifest.present)
    assert {p: p.stat().st_mtime_ns for p in corpus_dir.rglob("*") if p.is_file()} == before


@pytest.fixture
def altered_mirror(corpus_dir: Path, tmp_path: Path) -> Path:
    """A mirror tree whose copy of the evaluation form has one byte flipped."""
    mirror = tmp_path / "mirror"
    source = mirror / EVALUATION_FORM
    source.parent.mkdir(parents=True)
    data = bytearray((corpus_dir / EVALUATION_FORM).read_bytes())
    data[len(data) // 2] ^= 0x01
    source.write_bytes(bytes(data))
    return mirror


def test_fetch_from_an_altered_mirror_fails_and_leaves_nothing(
    evaluation_form_only: Manifest, altered_mirror: Path, tmp_path: Path
) -> None:
    target = tmp_path / "corpus"
    ((doc, outcome, detail),) = fetch_corpus(evaluation_form_only, target, altered_mirror)
    assert doc.path == EVALUATION_FORM
    assert outcome == "failed"
    assert "sha256" in detail
    assert EVALUATION_FORM in detail
    assert files_under(target) == []


def test_failed_fetch_does_not_touch_the_previous_file(
    evaluation_form_only: Manifest, altered_mirror: Path, tmp_path: Path
) -> None:
    target = tmp_path / "corpus"
    previous = target / EVALUATION_FORM
    previous.parent.mkdir(parents=True)
    previous.write_bytes(b"%PDF-1.4 an older, different copy")
    ((_, outcome, _),) = fetch_corpus(evaluation_form_only, target, altered_mirror)
    assert outcome == "failed"
    assert previous.read_bytes() == b"%PDF-1.4 an older, different copy"
    assert files_under(target) == [EVALUATION_FORM]


def test_fetch_reports_a_file_missing_from_the_mirror(evaluation_form_only: Manifest, tmp_path: Path) -> None:
    (tmp_path / "mirror").mkdir()
    ((_, outcome, detail),) = fetch_corpus(evaluation_form_only, tmp_path / "corpus", tmp_path / "mirror")
    assert outcome == "failed"
    assert "not found in the mirror" in detail


def test_fetch_refuses_a_mirror_that_is_not_a_directory(
    evaluation_form_only: Manifest, tmp_path: Path
) -> None:
    with pytest.raises(CorpusError, match="is not a directory"):
        list(fetch_corpus(evaluation_form_only, tmp_path / "corpus", tmp_path / "no-such-mirror"))


# --- downloading (from a server on 127.0.0.1) -------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def file_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving a temporary directory: yields (base URL, directory)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "served"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def served_manifest(manifest: Manifest, mirror_url: str, url: str | None = None) -> Manifest:
    doc = dataclasses.replace(manifest.get(EVALUATION_FORM), mirror_url=mirror_url, url=url)
    return Manifest(documents=(doc,), source=manifest.source)


def test_download_verifies_and_places_the_file(
    manifest: Manifest, corpus_dir: Path, tmp_path: Path, file_server: tuple[str, Path]
) -> None:
    base, root = file_server
    shutil.copyfile(corpus_dir / EVALUATION_FORM, root / "form.pdf")
    target = tmp_path / "corpus"
    ((_, outcome, detail),) = fetch_corpus(served_manifest(manifest, f"{base}/form.pdf"), target, None)
    assert (outcome, detail) == ("downloaded", "")
    assert files_under(target) == [EVALUATION_FORM]
    assert sha256_of(target / EVALUATION_FORM) == manifest.get(EVALUATION_FORM).sha256


def test_download_of_altered_bytes_fails_and_leaves_nothing(
    manifest: Manifest, corpus_dir: Path, tmp_path: Path, file_server: tuple[str, Path]
) -> None:
    base, root = file_server
    (root / "form.pdf").write_bytes((corpus_dir / EVALUATION_FORM).read_bytes()[:-10])
    target = tmp_path / "corpus"
    ((_, outcome, detail),) = fetch_corpus(
        served_manifest(manifest, f"{base}/form.pdf", url=f"{base}/missing.pdf"), target, None
    )
    assert outcome == "failed"
    assert "sha256" in detail
    assert "404" in detail
    assert files_under(target) == []


def test_document_without_mirror_or_url_cannot_be_fetched(manifest: Manifest, tmp_path: Path) -> None:
    doc = dataclasses.replace(manifest.get(EVALUATION_FORM), mirror_url=None, url=None)
    ((_, outcome, detail),) = fetch_corpus(Manifest((doc,), manifest.source), tmp_path, None)
    assert outcome == "failed"
    assert "EUMEX_CORPUS_MIRROR" in detail
