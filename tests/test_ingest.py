"""The ingestion job end to end: real corpus, real parser and embedder, real Chroma (embedded and server)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from assistant.index.catalog import Catalog
from assistant.config import Settings
from assistant.index.embed import make_embedder
from assistant.types import DENSE_COLLECTIONS, DOCUMENTS, LANGUAGES, PROJECTS, TOPICS
from assistant.pipeline import build_retriever, open_index
from assistant.index.vectors import ChromaEmbedding
from ingestion.ingest import Ingestor
from tests.support import EUMEX, chroma_server, cli_env, generated_document, local_copy, run_cli, write_manifest

def _unique_topic_codes(corpus_dir: Path) -> int:
    """Topics are listed once per programme part they belong to; the index keeps one record per code."""
    import csv
    import io

    text = (corpus_dir / "cordis" / "h2020-topics_dataesr.txt").read_bytes().decode("latin-1")
    return len({row["CD_TOPIC"] for row in csv.DictReader(io.StringIO(text), delimiter=";") if row["CD_TOPIC"]})


SMALL_DOCS = ("h2020-evaluation-form-ria", "h2020-gap-annex1-instructions", "h2020-avoid-cost-claim-errors")


def _norm(text: str) -> str:
    return " ".join(text.split())


def _consistent(settings: Settings) -> dict[str, int]:
    """Assert that Chroma holds exactly the dense chunks of the catalog; return the counts."""
    index = open_index(settings)
    catalog_ids = index.catalog.chunk_ids()
    counts = {}
    for coll in DENSE_COLLECTIONS:
        vector_ids = index.store.all_ids(coll)
        expected = {
            r[0] for r in index.catalog.db.execute("SELECT id FROM chunks WHERE collection = ?", (coll,))
        }
        assert vector_ids == expected, f"{coll}: {len(vector_ids ^ expected)} ids differ between Chroma and catalog"
        counts[coll] = len(expected)
    assert index.catalog.integrity() == "ok"
    counts["all"] = len(catalog_ids)
    return counts


def _ingest(settings: Settings) -> object:
    index = open_index(settings)
    return Ingestor(settings, index.manifest, index.catalog, index.store, index.embedder, progress=False).run()


@pytest.fixture
def small_corpus(tmp_path: Path, corpus_dir: Path, manifest) -> tuple[Path, list]:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    docs = [local_copy(manifest.get(d), corpus_dir, corpus) for d in SMALL_DOCS]
    return corpus, docs


def _settings(tmp_path: Path, corpus: Path, docs: list, **kw: object) -> Settings:
    manifest = write_manifest(tmp_path / "manifest.toml", docs)
    return Settings(corpus_dir=corpus, data_dir=tmp_path / "data", manifest=manifest, **kw)  # type: ignore[arg-type]


def test_full_corpus_is_indexed_and_consistent(full_index, corpus_dir: Path, manifest) -> None:  # type: ignore[no-untyped-def]
    env, summary = full_index
    ingestible = sum(d.ingestible for d in manifest.documents)
    assert ingestible == 33  # 24 PDFs (8 H2020/Mexico, 16 Horizon Europe) + 9 CORDIS files
    # (with EUMEX_TEST_DATA_DIR the session may start from a kept index: indexed + unchanged is what counts)
    m = re.search(r"documents: (\d+) indexed, (\d+) unchanged, 0 removed, 0 failed", summary)
    assert m and int(m.group(1)) + int(m.group(2)) == ingestible, summary
    stats = json.loads(run_cli(["stats", "--json"], env).stdout)
    assert stats["consistent"] is True
    assert stats["catalog"]["pages"] == 87 + 183 + 215 + 28 + 4 + 4 + 6 + 52 + 2626  # 2,626 Horizon Europe pages
    assert stats["call_topics"] == 540  # the 2026-2027 work programmes' topics (tests/test_parse_topics.py)
    assert stats["eligibility_rules"] is True  # read from the General Annexes and the rules texts
    assert stats["catalog"]["chunks_projects"] >= 35381  # every H2020 project has a record
    topics = _unique_topic_codes(corpus_dir)
    assert 2000 < topics < 3112  # 3,112 rows, some topics under several programme parts
    assert stats["catalog"]["chunks_topics"] == topics
    assert stats["vectors"] == {DOCUMENTS: stats["catalog"]["chunks_documents"], TOPICS: topics}


@pytest.mark.parametrize(
    ("document", "page", "text"),
    [
        ("h2020_rules/h2020-evaluation-form-ria-einfra.pdf", 3, "The threshold for individual criteria is 3"),
        ("h2020_work_programmes/h2020-wp1820-food_en.pdf", 90, "SFS-33-2018 Due to the specific challenge"),
        ("h2020_work_programmes/h2020-wp1820-food_en.pdf", 90, "proposals shall include at least eight participants from Africa"),
        (
            "mexico_programmes/LGMHCTI_ley-general-humanidades-ciencias-tecnologias-innovacion_2023.pdf",
            31,
            "Artículo 62. El Consejo Nacional de Humanidades, Ciencias y Tecnologías es un organismo público",
        ),
    ],
)
def test_known_text_is_on_its_page(full_index, document: str, page: int, text: str) -> None:  # type: ignore[no-untyped-def]
    env, _ = full_index
    catalog = Catalog(Path(env["EUMEX_DATA_DIR"]) / "catalog.sqlite3")
    rows = catalog.db.execute(
        "SELECT page_start, page_end, text FROM chunks WHERE document = ? AND page_start <= ? AND page_end >= ?",
        (document, page, page),
    ).fetchall()
    assert any(_norm(text) in _norm(t) for _, _, t in rows), f"'{text}' not in any chunk of page {page}"
    # and it is on no other page of the document
    others = catalog.db.execute(
        "SELECT DISTINCT page_start FROM chunks WHERE document = ? AND instr(text, ?) > 0", (document, text[:40])
    ).fetchall()
    assert {p for (p,) in others} <= {page, page - 1}


def test_keyword_index_finds_identifiers(full_index) -> None:  # type: ignore[no-untyped-def]
    env, _ = full_index
    catalog = Catalog(Path(env["EUMEX_DATA_DIR"]) / "catalog.sqlite3")
    hits = catalog.keyword_search("LC-SFS-34-2019", k=5, collection=DOCUMENTS)
    assert hits and any("LC-SFS-34-2019" in c.text for c, _ in hits)
    exact = catalog.find_exact("BELLA-S1", collection=PROJECTS)
    assert any("731505" in (c.locator or "") for c in exact)


def test_dense_search_is_cross_lingual(full_index) -> None:  # type: ignore[no-untyped-def]
    """A Spanish question finds the English topic on geothermal energy with Mexico."""
    env, _ = full_index
    settings = Settings(corpus_dir=Path(env["EUMEX_CORPUS_DIR"]), data_dir=Path(env["EUMEX_DATA_DIR"]))
    index = open_index(settings)
    vector = index.embedder.embed(["cooperación internacional con México en energía geotérmica"])[0]
    hits = index.store.query(TOPICS, "en", vector, k=5)
    found = index.catalog.chunks_by_id([h.id for h in hits])
    assert any("geothermal" in c.text and "Mexico" in c.text for c in found.values())


def test_vectors_are_kept_per_passage_language(full_index) -> None:  # type: ignore[no-untyped-def]
    """The dense index (USE, passages and topics) holds each chunk in the collection of its language, and
    exactly the catalog's chunks (the second, e5, index is checked on a small corpus against a Chroma
    server: test_same_code_path_against_chroma_server)."""
    env, _ = full_index
    settings = Settings(corpus_dir=Path(env["EUMEX_CORPUS_DIR"]), data_dir=Path(env["EUMEX_DATA_DIR"]))
    index = open_index(settings)
    assert index.second_store is None  # off by default: docs/benchmarks.md
    for store, collections in ((index.store, DENSE_COLLECTIONS),):
        for coll in collections:
            for language in LANGUAGES:
                expected = {
                    r[0]
                    for r in index.catalog.db.execute(
                        "SELECT id FROM chunks WHERE collection = ? AND language = ?", (coll, language)
                    )
                }
                assert store.all_ids(coll, language) == expected, (store.embedder.name, coll, language)
    assert index.store.all_ids(DOCUMENTS, "es")  # the Mexican law


def test_an_index_from_before_the_language_collections_is_moved_not_rebuilt(tmp_path: Path, small_corpus) -> None:  # type: ignore[no-untyped-def]
    corpus, docs = small_corpus
    settings = _settings(tmp_path, corpus, docs)
    assert _ingest(settings).ok
    index = open_index(settings)
    before = {coll: index.store.all_ids(coll) for coll in DENSE_COLLECTIONS}
    # Rebuild the old layout: one collection per chunk collection, all languages together.
    client = index.client
    for coll in DENSE_COLLECTIONS:
        old = client.get_or_create_collection(  # as the earlier versions created it
            f"{settings.collection_prefix}-{coll}-{index.embedder.name}",
            embedding_function=ChromaEmbedding(index.embedder),
            metadata={"hnsw:space": "cosine", "embedder": index.embedder.name},
        )
        for language in LANGUAGES:
            name = index.store.collection_name(coll, language)
            got = client.get_collection(name).get(include=["embeddings", "metadatas"])
            if got["ids"]:
                old.add(ids=got["ids"], embeddings=got["embeddings"], metadatas=got["metadatas"])
            client.delete_collection(name)
    report = _ingest(settings)
    assert report.ok and report.embedded == 0 and not report.failed  # nothing embedded again
    index = open_index(settings)
    assert {coll: index.store.all_ids(coll) for coll in DENSE_COLLECTIONS} == before
    names = {getattr(c, "name", c) for c in index.client.list_collections()}
    assert not any(name == f"{settings.collection_prefix}-{coll}-{index.embedder.name}" for coll in DENSE_COLLECTIONS for name in names)


V1_KEYWORD_TABLE = """
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    heading, text, content='chunks', content_rowid='rowid', tokenize="unicode61 remove_diacritics 2"
);
INSERT INTO chunks_fts(rowid, heading, text) SELECT rowid, heading, text FROM chunks;
"""
V1_KEYWORD_TRIGGERS = """
CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.rowid, new.heading, new.text);
END;
CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, heading, text) VALUES ('delete', old.rowid, old.heading, old.text);
END;
"""


V2_KEYWORD_TABLES = """
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    heading, text, content='chunks', content_rowid='rowid', tokenize="unicode61 remove_diacritics 2"
);
CREATE VIRTUAL TABLE records_fts USING fts5(
    heading, text, content='chunks', content_rowid='rowid', tokenize="unicode61 remove_diacritics 2"
);
INSERT INTO chunks_fts(rowid, heading, text) SELECT rowid, heading, text FROM chunks WHERE collection != 'projects';
INSERT INTO records_fts(rowid, heading, text) SELECT rowid, heading, text FROM chunks WHERE collection = 'projects';
"""


@pytest.mark.parametrize("state", ["version-1", "version-2", "version-2-with-version-1-triggers"])
def test_an_old_keyword_index_is_rebuilt_on_open(tmp_path: Path, small_corpus, make_pdf, state: str) -> None:  # type: ignore[no-untyped-def]
    """A version-1 catalog (one keyword index for all chunks), a version-2 one (no prefix indexes), or one a
    development build left with both versions' triggers (every new chunk indexed twice: the next delete fails with "database disk image is
    malformed"), is repaired when opened; ingestion then replaces documents as usual."""
    import sqlite3

    corpus, docs = small_corpus
    settings = _settings(tmp_path, corpus, docs)
    assert _ingest(settings).ok
    Catalog(settings.catalog_path).close()
    db = sqlite3.connect(settings.catalog_path, isolation_level=None)
    if state == "version-1":
        db.executescript(
            "DROP TRIGGER chunks_fts_ai; DROP TRIGGER chunks_fts_ad; DROP TRIGGER records_fts_ai;"
            " DROP TRIGGER records_fts_ad; DROP TABLE chunks_fts; DROP TABLE records_fts;"
            + V1_KEYWORD_TABLE + V1_KEYWORD_TRIGGERS + "UPDATE meta SET value = '1' WHERE key = 'schema_version';"
        )
    elif state == "version-2":
        db.executescript(
            "DROP TABLE chunks_fts; DROP TABLE records_fts;"
            + V2_KEYWORD_TABLES + "UPDATE meta SET value = '2' WHERE key = 'schema_version';"
        )
    else:
        # Both versions' triggers, and a keyword index they damaged (deleting a project record from
        # chunks_fts, where version 2 never put it, broke the real one; a broken block stands in for it).
        db.executescript(V1_KEYWORD_TRIGGERS)
        db.execute("UPDATE chunks_fts_data SET block = x'00ff' WHERE id = (SELECT max(id) FROM chunks_fts_data)")
        with pytest.raises(sqlite3.DatabaseError, match="malformed"):
            db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')")
    db.close()

    catalog = Catalog(settings.catalog_path)
    assert catalog.integrity() == "ok"
    names = {r[0] for r in catalog.db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert names == {"chunks_fts_ai", "chunks_fts_ad", "records_fts_ai", "records_fts_ad"}
    tables = dict(catalog.db.execute("SELECT name, sql FROM sqlite_master WHERE name IN ('chunks_fts', 'records_fts')"))
    assert all("prefix='5 6'" in sql for sql in tables.values()) and len(tables) == 2
    assert catalog.keyword_search("threshold individual criteria", k=3)
    catalog.close()

    # the document written through the damaged index is replaced without an error
    target = corpus / "extra" / "guide.pdf"
    target.parent.mkdir()
    target.write_bytes(make_pdf(["EUMEX test guidance. Mexican entities may participate in projects."]).read_bytes())
    settings = _settings(tmp_path, corpus, [*docs, generated_document("extra-guide", "extra/guide.pdf", corpus)])
    report = _ingest(settings)
    assert report.ok and report.ingested == ["extra/guide.pdf"]
    assert Catalog(settings.catalog_path).integrity() == "ok"


def test_unchanged_rerun_does_no_embedding_work(full_index) -> None:  # type: ignore[no-untyped-def]
    env, _ = full_index
    result = run_cli(["ingest", "--quiet"], env)
    assert result.returncode == 0, result.stderr
    assert "0 indexed, 33 unchanged" in result.stdout
    assert re.search(r"embedded: 0\b", result.stdout)


# --- incremental behaviour on a small corpus -------------------------------------------------------------
def test_changed_and_removed_documents(tmp_path: Path, small_corpus, make_pdf) -> None:  # type: ignore[no-untyped-def]
    corpus, docs = small_corpus
    extra_path = make_pdf(
        ["EUMEX test guidance. Mexican entities may participate in collaborative projects.",
         "Second page of the first version about eligibility of Mexico."]
    )
    target = corpus / "extra" / "guide.pdf"
    target.parent.mkdir()
    target.write_bytes(extra_path.read_bytes())
    extra = generated_document("extra-guide", "extra/guide.pdf", corpus)
    settings = _settings(tmp_path, corpus, [*docs, extra])
    first = _ingest(settings)
    assert first.ok and len(first.ingested) == 4
    before = _consistent(settings)
    old_ids = Catalog(settings.catalog_path).chunk_ids("extra-guide")

    # change the document (and its manifest entry: a file that differs from the manifest is refused): its chunks
    # are replaced, nothing stale or duplicated remains
    target.write_bytes(make_pdf(["EUMEX test guidance, second version. Funding for Mexico is decided per topic."]).read_bytes())
    settings = _settings(tmp_path, corpus, [*docs, generated_document("extra-guide", "extra/guide.pdf", corpus)])
    second = _ingest(settings)
    assert second.ingested == ["extra/guide.pdf"] and sorted(second.unchanged) == sorted(d.path for d in docs)
    new_ids = Catalog(settings.catalog_path).chunk_ids("extra-guide")
    assert new_ids and not (new_ids & old_ids)
    assert second.deleted_vectors == len(old_ids - new_ids)
    catalog = Catalog(settings.catalog_path)
    assert not catalog.find_exact("first version")
    assert catalog.find_exact("second version")
    assert _consistent(settings)["all"] == before["all"] - len(old_ids) + len(new_ids)

    # remove it from the manifest: its chunks and vectors go away
    settings = _settings(tmp_path, corpus, docs)
    third = _ingest(settings)
    assert third.removed == ["extra/guide.pdf"]
    assert not Catalog(settings.catalog_path).chunk_ids("extra-guide")
    assert _consistent(settings)["all"] == before["all"] - len(old_ids)


def test_a_running_retriever_searches_what_ingestion_changes(tmp_path: Path, small_corpus, make_pdf) -> None:  # type: ignore[no-untyped-def]
    """The retriever ranks an in-memory copy of the stored vectors: a server that keeps running while the
    ingestion job replaces a document must find the new passages by their vectors, not only by keywords."""
    corpus, docs = small_corpus
    target = corpus / "extra" / "guide.pdf"
    target.parent.mkdir()
    target.write_bytes(make_pdf(["EUMEX test guidance. Mexican entities may participate in collaborative projects."]).read_bytes())
    settings = _settings(
        tmp_path, corpus, [*docs, generated_document("extra-guide", "extra/guide.pdf", corpus)], second_embedder="none"
    )
    assert _ingest(settings).ok
    retriever = build_retriever(open_index(settings))
    question = "Can Mexican entities take part in collaborative projects according to the EUMEX test guidance?"
    first = [h for h in retriever.search(question, k=5) if h.chunk.doc_id == "extra-guide"]
    assert first and "dense" in first[0].sources

    target.write_bytes(make_pdf(["EUMEX test guidance, second version. Mexican entities may join collaborative projects."]).read_bytes())
    settings = _settings(  # the new version's manifest entry (a file that differs from the manifest is refused)
        tmp_path, corpus, [*docs, generated_document("extra-guide", "extra/guide.pdf", corpus)], second_embedder="none"
    )
    assert _ingest(settings).ingested == ["extra/guide.pdf"]
    second = [h for h in retriever.search(question, k=5) if h.chunk.doc_id == "extra-guide"]
    assert second and second[0].chunk.id != first[0].chunk.id
    assert "dense" in second[0].sources, second[0].sources


def test_the_common_keyword_terms_follow_the_documents(tmp_path: Path, small_corpus, make_pdf) -> None:  # type: ignore[no-untyped-def]
    """Ingestion works out which terms most rows of each keyword index hold (left out of keyword
    queries) once per change of the documents, and stores them for every process that searches."""
    import json

    from assistant.index.catalog import _find_common_terms

    corpus, docs = small_corpus
    settings = _settings(tmp_path, corpus, docs)
    assert _ingest(settings).ok
    catalog = Catalog(settings.catalog_path)
    first = catalog.generation()
    stored = json.loads(catalog.get_meta("common_terms") or "{}")
    assert first > 0 and stored["generation"] == first
    assert stored["tables"]["chunks_fts"] == sorted(_find_common_terms(catalog.db, "chunks_fts"))
    assert '"the"' in stored["tables"]["chunks_fts"]

    assert _ingest(settings).ok  # nothing changed: nothing to work out again
    assert catalog.generation() == first

    target = corpus / "extra" / "guide.pdf"
    target.parent.mkdir()
    target.write_bytes(make_pdf(["EUMEX test guidance. Mexican entities may participate in projects."]).read_bytes())
    settings = _settings(tmp_path, corpus, [*docs, generated_document("extra-guide", "extra/guide.pdf", corpus)])
    assert _ingest(settings).ok
    stored = json.loads(catalog.get_meta("common_terms") or "{}")
    assert catalog.generation() > first and stored["generation"] == catalog.generation()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.pdf", b"", "empty"),
        ("notapdf.pdf", b"<html>this is a web page, not a PDF</html>", "not a PDF"),
        ("truncated.pdf", None, "unreadable"),
        ("encrypted.pdf", "encrypted", "encrypted"),
    ],
)
def test_bad_file_is_reported_and_others_are_ingested(  # type: ignore[no-untyped-def]
    tmp_path: Path, small_corpus, make_pdf, name: str, content: bytes | str | None, reason: str
) -> None:
    corpus, docs = small_corpus
    bad = corpus / "bad" / name
    bad.parent.mkdir()
    if content is None:
        whole = make_pdf(["A page of text " * 40] * 6).read_bytes()
        bad.write_bytes(whole[: len(whole) // 3])
    elif content == "encrypted":
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter()
        for page in PdfReader(make_pdf(["secret text"])).pages:
            writer.add_page(page)
        writer.encrypt(user_password="s3cret", owner_password="owner")
        with bad.open("wb") as fh:
            writer.write(fh)
    else:
        bad.write_bytes(content)  # type: ignore[arg-type]
    settings = _settings(tmp_path, corpus, [*docs, generated_document("bad", f"bad/{name}", corpus)])
    env = cli_env(corpus, settings.data_dir, settings.manifest)
    result = run_cli(["ingest", "--quiet"], env)
    assert result.returncode == 1
    assert f"FAILED bad/{name}" in result.stdout and reason.lower() in result.stdout.lower()
    assert "3 indexed" in result.stdout
    assert _consistent(settings)["all"] > 0


def test_bad_spreadsheet_is_reported(tmp_path: Path, corpus_dir: Path, manifest) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    topics = local_copy(manifest.get("h2020-topics"), corpus_dir, corpus)
    broken = corpus / "cordis" / "projects.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip archive" * 10)
    projects = generated_document("projects", "cordis/projects.xlsx", corpus, parser="cordis-projects", kind="dataset")
    settings = _settings(tmp_path, corpus, [topics, projects])
    report = _ingest(settings)
    assert [p for p, _ in report.failed] == ["cordis/projects.xlsx"]
    assert "spreadsheet" in report.failed[0][1]
    assert "cordis/h2020-topics_dataesr.txt" in report.ingested
    assert _consistent(settings)[TOPICS] == _unique_topic_codes(corpus_dir)


def test_missing_file_says_how_to_fix(tmp_path: Path, small_corpus) -> None:  # type: ignore[no-untyped-def]
    corpus, docs = small_corpus
    (corpus / docs[0].path).unlink()
    report = _ingest(_settings(tmp_path, corpus, docs))
    assert report.failed and "eumex corpus fetch" in report.failed[0][1]
    assert len(report.ingested) == 2


def test_kill_during_ingestion_keeps_previous_index(tmp_path: Path, corpus_dir: Path, manifest, small_corpus) -> None:  # type: ignore[no-untyped-def]
    corpus, docs = small_corpus
    settings = _settings(tmp_path, corpus, docs)
    assert _ingest(settings).ok
    before = _consistent(settings)
    probe = Catalog(settings.catalog_path).keyword_search("threshold individual criteria", k=3)
    assert probe

    # Add two long documents and kill -9 the ingestion while it embeds the second one.
    big = [local_copy(manifest.get(d), corpus_dir, corpus) for d in ("mx-lgmhcti-2023", "h2020-wp1415-food")]
    settings = _settings(tmp_path, corpus, [*docs, *big])
    env = cli_env(corpus, settings.data_dir, settings.manifest, EUMEX_LOG_LEVEL="INFO")
    proc = subprocess.Popen([*EUMEX, "ingest", "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("indexed ") or time.monotonic() > deadline:
            break
    time.sleep(1.0)  # well inside embedding the next document (several seconds of work)
    assert proc.poll() is None, "ingestion finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    # The index is fully usable: consistent, searchable, at least what it had before.
    during = _consistent(settings)
    assert during["all"] >= before["all"]
    assert Catalog(settings.catalog_path).keyword_search("threshold individual criteria", k=3)
    index = open_index(settings)
    hits = index.store.query(DOCUMENTS, "en", index.embedder.embed(["evaluation thresholds"])[0], k=5)
    assert set(index.catalog.chunks_by_id([h.id for h in hits])), "dense hits must resolve in the catalog"

    # The next run completes and reuses the vectors the interrupted run had already stored.
    rerun = run_cli(["ingest", "--quiet"], env)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    after = _consistent(settings)
    assert after["all"] > before["all"]
    assert len(Catalog(settings.catalog_path).documents()) == 5


def test_changing_the_embedder_builds_a_separate_index(tmp_path: Path, small_corpus) -> None:  # type: ignore[no-untyped-def]
    corpus, docs = small_corpus
    settings = _settings(tmp_path, corpus, docs)
    assert _ingest(settings).ok
    name = make_embedder(settings).name
    assert open_index(settings).store.collection_name(DOCUMENTS, "en").endswith(name)


# --- Chroma server mode -----------------------------------------------------------------------------------
@pytest.mark.server
def test_same_code_path_against_chroma_server(tmp_path: Path, small_corpus, manifest, corpus_dir: Path) -> None:  # type: ignore[no-untyped-def]
    corpus, docs = small_corpus
    docs = [*docs, local_copy(manifest.get("mx-lgmhcti-2023"), corpus_dir, corpus)]
    manifest_path = write_manifest(tmp_path / "manifest.toml", docs)
    with chroma_server(tmp_path / "chroma-server") as (host, port):
        env = cli_env(corpus, tmp_path / "data", manifest_path, CHROMA_HOST=host, CHROMA_PORT=str(port),
                      EUMEX_SECOND_EMBEDDER="e5", EUMEX_RANKER="fusion")  # the e5 leg, reordering the fusion
        first = run_cli(["ingest", "--quiet"], env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "4 indexed" in first.stdout
        stats = json.loads(run_cli(["stats", "--json"], env).stdout)
        assert stats["consistent"] and stats["vector_store"].startswith("chroma server")
        assert stats["vectors"][DOCUMENTS] == stats["catalog"]["chunks_documents"] > 0
        # nothing was written to an embedded store
        assert not (tmp_path / "data" / "chroma").exists()
        settings = Settings(
            corpus_dir=corpus, data_dir=tmp_path / "data", manifest=manifest_path, chroma_host=host, chroma_port=port,
            second_embedder="e5", ranker="fusion",
        )
        index = open_index(settings)
        hits = index.store.query(DOCUMENTS, "es", index.embedder.embed(["El Consejo Nacional de Humanidades, Ciencias y Tecnologías es un organismo público descentralizado"])[0], k=5)
        pages = {(c.doc_id, c.page_start) for c in index.catalog.chunks_by_id([h.id for h in hits]).values()}
        assert ("mx-lgmhcti-2023", 31) in pages
        # the retriever's in-memory copy of the vectors is read from the server
        hits = build_retriever(index).search("¿Qué es el Consejo Nacional de Humanidades, Ciencias y Tecnologías?", k=5)
        assert any(h.chunk.page_start == 31 and {"dense", "e5"} <= set(h.sources) for h in hits), hits
        second = run_cli(["ingest", "--quiet"], env)
        assert "0 indexed, 4 unchanged" in second.stdout


def test_unreachable_chroma_server_is_a_clear_error(tmp_path: Path, small_corpus) -> None:  # type: ignore[no-untyped-def]
    corpus, docs = small_corpus
    manifest_path = write_manifest(tmp_path / "manifest.toml", docs)
    env = cli_env(corpus, tmp_path / "data", manifest_path, CHROMA_HOST="127.0.0.1", CHROMA_PORT="9")
    result = run_cli(["ingest", "--quiet"], env)
    assert result.returncode == 1
    assert "chroma run" in result.stderr and "Traceback" not in result.stderr


def test_wrong_config_is_a_clear_error(tmp_path: Path) -> None:
    env = cli_env(tmp_path, tmp_path / "data", EUMEX_EMBEDDER="nope", EUMEX_CHUNK_CHARS="12")
    result = run_cli(["stats"], env)
    assert result.returncode == 2
    assert "EUMEX_CHUNK_CHARS" in result.stderr and "Traceback" not in result.stderr
    env = cli_env(tmp_path, tmp_path / "data", EUMEX_EMBEDDER="nope")
    result = run_cli(["stats"], env)
    assert "Unknown embedder 'nope'. Available: use, openai" in result.stderr


def test_openai_embedder_against_local_server(tmp_path: Path, small_corpus) -> None:  # type: ignore[no-untyped-def]
    """The OpenAI-compatible backend, against a tiny /v1/embeddings server on 127.0.0.1."""
    from tests.fake_llm import fake_llm_server

    with fake_llm_server() as fake:
        corpus, docs = small_corpus
        settings = _settings(
            tmp_path, corpus, docs, embedder="openai", embed_model="tiny",
            embed_base_url=fake.base_url, embed_batch_size=16,
        )
        report = _ingest(settings)
        calls = [len(r["input"]) for r in fake.requests]
        assert report.ok and report.embedded > 16
        # passages, then the sentences an extractive answer may quote: all through the same endpoint
        assert report.embedded_sentences > 0
        assert report.embedded_words > 0  # the passages' vocabulary (assistant/index/vocabulary.py)
        assert max(calls) <= 16 and sum(calls) == report.embedded + report.embedded_sentences + report.embedded_words
        assert _consistent(settings)[DOCUMENTS] == report.embedded
