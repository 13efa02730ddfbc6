"""Hybrid retrieval and `eumex search` on the real index of the real corpus."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.language import detect_language
from assistant.types import DOCUMENTS, PROJECTS, TOPICS
from assistant.pipeline import build_retriever, open_index
from assistant.index.catalog import fts_query
from assistant.index.vectors import DenseHit
from assistant.query import MEXICAN_LAW, document_priors, identifiers, implied_exclusions, read_query, without_law_title
from assistant.retrieve import ChunkFilters
from tests.support import run_cli


@pytest.fixture(scope="module")
def retriever(full_index):  # type: ignore[no-untyped-def]
    env, _ = full_index
    settings = Settings(corpus_dir=Path(env["EUMEX_CORPUS_DIR"]), data_dir=Path(env["EUMEX_DATA_DIR"]))
    return build_retriever(open_index(settings))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Which topic is LC-SFS-34-2019?", ["LC-SFS-34-2019"]),
        ("¿Qué dice el artículo 62 de la ley?", ["Artículo 62.", "Article 62"]),
        ("What does Article 22 of Regulation 2021/695 say?", ["Artículo 22.", "Article 22"]),
        ("Art. 6.2 of the Model Grant Agreement", ["Artículo 6.", "Article 6"]),
        ("Is horizon-cl6-2027-01-biodiv-01 open?", ["HORIZON-CL6-2027-01-BIODIV-01"]),
        ("HORIZON-MSCA-2026-DN-01-01 and HORIZON-CL4-2026-03 deadlines", ["HORIZON-MSCA-2026-DN-01-01", "HORIZON-CL4-2026-03"]),
        ("partners of BELLA-S1 and GEMex", ["BELLA-S1", "GEMex"]),
        ("what is the budget of the EU for RIA?", []),
        # names joined by hyphens are not acronyms (the heading "EU-China cooperation on soil." was quoted)
        ("In SFS-40-2020 (EU-China soils), who pays for the Chinese partners?", ["SFS-40-2020"]),
        ("cooperación UE-México en el proyecto GEMex", ["GEMex"]),
    ],
)
def test_identifiers(query: str, expected: list[str]) -> None:
    assert identifiers(query) == expected


@pytest.mark.parametrize(
    ("query", "document", "page"),
    [
        ("What is the threshold for individual evaluation criteria?", "h2020-evaluation-form-ria-einfra.pdf", 3),
        # (not "¿Cuál es el umbral para cada criterio de evaluación?": it ranks the form 9th since the
        # language collections - the work programmes repeat threshold boilerplate on many pages; a known
        # weakness, docs/answering.md)
        ("¿Los evaluadores pueden dar medios puntos?", "h2020-evaluation-form-ria-einfra.pdf", 3),
        ("What is the National Council for Humanities, Sciences and Technologies?", "LGMHCTI", 31),
        ("SFS-33-2018 minimum number of participants from Africa", "h2020-wp1820-food_en.pdf", 90),
        # a named document is preferred x2 (x1.5 left the work programmes' evaluation paragraphs ahead of it)
        ("What does the evaluation form say about the quality of the consortium?", "h2020-evaluation-form-ria-einfra.pdf", 4),
        # the law's name is left out of the search words (every page of it repeats them): before, pages 1-3
        ("Does the Mexican science law say anything about international cooperation as a principle for public policy?",
         "LGMHCTI", 6),
    ],
)
def test_right_page_in_top_five(retriever, query: str, document: str, page: int) -> None:  # type: ignore[no-untyped-def]
    hits = retriever.search(query, k=5)
    assert any(document in h.chunk.document and h.chunk.page_start <= page <= h.chunk.page_end for h in hits), [
        (h.chunk.document, h.chunk.page_start) for h in hits
    ]


def test_an_english_question_sees_spanish_passages_and_the_reverse(retriever) -> None:  # type: ignore[no-untyped-def]
    """Each passage language gets its own dense candidates (before the per-language collections, an English
    question about the Mexican law found at most a few of its passages, and not the same ones every run)."""
    for query, other in (
        ("Does the Mexican science law say anything about import duties on research equipment?", "es"),
        ("¿Qué umbral tiene cada criterio en la evaluación de una propuesta?", "en"),
    ):
        ranked, _scores = retriever._dense(
            retriever.store,
            retriever.embed_query(query),
            (DOCUMENTS,),
            ChunkFilters({}),
            ("en", "es"),
            detect_language(query),
            0.05,
        )
        languages = [c.language for c in retriever.catalog.chunks_by_id(ranked).values()]
        assert languages.count(other) >= 10, (query, languages.count(other))


def test_the_learned_ranker_orders_the_candidates_and_fusion_remains(retriever) -> None:  # type: ignore[no-untyped-def]
    """The learned ranker (assistant/ranker.json) orders what the legs found: its scores are probabilities,
    best first; with EUMEX_RANKER=fusion the same candidates are fused by rank as before."""
    assert retriever.ranker is not None and retriever.second is None  # the defaults
    query = "What is the threshold for individual evaluation criteria in an H2020 RIA?"
    learned = retriever.search(query, k=8)
    assert all(0.0 <= h.score <= 1.0 for h in learned)
    # each page's best passage first, best first; a page's other passages after them
    pages = [(h.chunk.doc_id, h.chunk.page_start) for h in learned]
    distinct = len(dict.fromkeys(pages))
    assert len(set(pages[:distinct])) == distinct
    firsts = [h.score for h in learned[:distinct]]
    assert firsts == sorted(firsts, reverse=True)
    assert any("evaluation-form" in h.chunk.document and h.chunk.page_start == 3 for h in learned[:3])
    fused = replace(retriever, ranker=None).search(query, k=8)
    assert {h.chunk.id for h in fused} & {h.chunk.id for h in learned}
    assert all(h.score < 0.2 for h in fused)  # reciprocal-rank scores, not probabilities


def test_the_ranker_sees_each_candidates_closest_sentence(retriever) -> None:  # type: ignore[no-untyped-def]
    """Each candidate passage is described by its sentence closest to the question (sentence vectors stored at
    ingestion), never closer than the passage's best sentence could be by definition: one of its sentences."""
    query = read_query("What is the threshold for individual evaluation criteria?")
    found, _ = retriever.candidates(query, similarities=True)
    assert set(found.sentence_similarity) <= set(found.chunks)
    assert len(found.sentence_similarity) >= 0.9 * len(found.chunks)
    best = max(found.sentence_similarity, key=found.sentence_similarity.get)
    vector = retriever.embed_query(query.text)
    sentences = retriever.catalog.chunk_sentence_vectors([best])[best]
    assert found.sentence_similarity[best] == pytest.approx(float(max(sentences @ vector)), abs=1e-5)
    assert "3" in found.chunks[best].text  # the closest sentence's passage states the threshold


def test_a_rare_acronym_is_an_exact_hit_in_the_documents(retriever) -> None:  # type: ignore[no-untyped-def]
    """CELAC is in two passages of WP 2018-2020 (p. 145); an acronym the documents use everywhere
    (FNSSA, in 20) is left to keyword search."""
    hits = retriever.search("Does the 2018-2020 work programme mention CELAC?", k=5)
    assert hits[0].chunk.page_start == 145 and "exact" in hits[0].sources
    assert not any("exact" in h.sources for h in retriever.search("What is FNSSA?", k=10))


def test_exact_identifier_reaches_project_records(retriever) -> None:  # type: ignore[no-untyped-def]
    hits = retriever.search("BELLA-S1", k=3, collections=(PROJECTS,))
    assert hits and "731505" in (hits[0].chunk.locator or "") and "exact" in hits[0].sources


def test_spanish_question_finds_english_topic(retriever) -> None:  # type: ignore[no-untyped-def]
    hits = retriever.search("cooperación con México en energía geotérmica", k=5, collections=(TOPICS,))
    assert any("LCE-23-2016" in (h.chunk.locator or "") for h in hits)


@pytest.mark.parametrize(
    ("query", "excluded"),
    [
        ("Can a Mexican university take part in an H2020 research and innovation action?",
         (MEXICAN_LAW, {"programme": "horizon-europe"})),
        ("¿Una universidad mexicana puede participar en Horizonte 2020?", (MEXICAN_LAW, {"programme": "horizon-europe"})),
        ("¿Una universidad mexicana puede participar en Horizonte Europa?", (MEXICAN_LAW, {"programme": "h2020"})),
        ("What changed in the funding rate from H2020 to Horizon Europe?", (MEXICAN_LAW,)),  # compares the two
        ("Does the Mexican science law let a university join an H2020 project?", ({"programme": "horizon-europe"},)),
        ("Does a Mexican university have to register before getting federal science funding?", ()),  # no EU programme
        ("Is HORIZON-CL6-2027-01-BIODIV-01 open to Mexican partners?", ({"programme": "h2020"},)),  # its code
        ("What was the budget of SFS-33-2018?", ({"programme": "horizon-europe"},)),
    ],
)
def test_a_question_about_one_programme_rules_out_the_other_and_the_mexican_law(
    query: str, excluded: tuple[dict[str, str], ...]
) -> None:
    assert implied_exclusions(query) == excluded


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is the threshold for individual evaluation criteria in an H2020 e-infrastructure RIA?",
         {"h2020-evaluation-form-ria", "h2020-proposal-template-ria-einfra"}),
        ("¿Qué pide el formulario de evaluación sobre el impacto?", {"h2020-evaluation-form-ria"}),
        ("Preparando el anexo 1 del acuerdo de subvención, ¿qué tablas copio?", {"h2020-gap-annex1-instructions"}),
        ("What are common errors in H2020 cost claims?", {"h2020-avoid-cost-claim-errors"}),
        ("Can Mexican entities receive EU funding in H2020?", set()),
    ],
)
def test_a_question_that_names_a_document_prefers_it(manifest, question: str, expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    from assistant.guard import named_documents

    assert named_documents(question, manifest) == expected


@pytest.mark.parametrize(
    ("query", "implied"),
    [
        # a question about Mexico that says nothing of the EU is about Mexican rules: the law
        ("Do private companies receiving Mexican public R&D support have to put in their own money?", {"kind": "law"}),
        ("¿En México la investigación financiada por el Estado debe ser de acceso abierto?", {"kind": "law"}),
        # a question that names no programme prefers the current one, Horizon Europe
        ("Tengo un socio mexicano que pide financiación de la UE", {"programme": "horizon-europe"}),
        ("Can a Mexican partner join our consortium?", {"programme": "horizon-europe"}),
        ("¿Un grupo mexicano puede participar en SFS-11-2016?", {}),  # an H2020 topic
        ("What does the 2018-2020 work programme say?", {"period": "2018-2020"}),
    ],
)
def test_document_priors(query: str, implied: dict[str, str]) -> None:
    assert document_priors(query) == implied


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Which laws did Mexico's 2023 General Law on Humanities, Sciences, Technologies and Innovation repeal?",
         "Which laws did Mexico's 2023 repeal?"),
        ("¿Qué dice la Ley General en materia de Humanidades, Ciencias, Tecnologías e Innovación sobre becas?",
         "¿Qué dice la sobre becas?"),
        ("Does the Mexican science law mention international cooperation?", "Does the mention international cooperation?"),
        # the Council's name is not the law's: it says what the question is about
        ("¿Qué es el Consejo Nacional de Humanidades, Ciencias y Tecnologías?",
         "¿Qué es el Consejo Nacional de Humanidades, Ciencias y Tecnologías?"),
    ],
)
def test_the_laws_name_is_left_out_of_the_search_words(query: str, expected: str) -> None:
    assert " ".join(without_law_title(query).split()) == expected


def test_keyword_terms_of_six_letters_or_more_match_as_prefixes() -> None:
    """'budget' finds 'budgeted' ("not those budgeted for the project!"), 'costes' finds 'costes'/'costed'."""
    assert fts_query("budget costes VAT evaluation") == '"budget"* OR "coste"* OR "vat" OR "evalua"*'


def test_a_mexican_question_about_h2020_is_not_answered_from_the_mexican_law(retriever) -> None:  # type: ignore[no-untyped-def]
    """Before: every one of the top 10 was an article of the law on Mexican universities."""
    hits = retriever.search("Can a Mexican university take part in an H2020 research and innovation action?", k=10)
    assert hits and not any(h.chunk.programme == "mexico" for h in hits)
    law = retriever.search("Does the Mexican science law oblige universities to do basic research?", k=5)
    # the law first; five results name five pages, and the fifth may be another text's
    assert all(h.chunk.kind == "law" for h in law[:3]) and sum(h.chunk.kind == "law" for h in law) >= 4


def test_metadata_filter(retriever) -> None:  # type: ignore[no-untyped-def]
    hits = retriever.search("evaluation threshold", k=10, filters={"language": "es"})
    assert hits and all(h.chunk.language == "es" for h in hits)
    hits = retriever.search("evaluation threshold", k=10, filters={"period": "2018-2020"})
    assert hits and all(h.chunk.period == "2018-2020" for h in hits)


def _chroma_where(filters: ChunkFilters) -> dict | None:  # type: ignore[type-arg]
    """The same filters as a Chroma ``where`` clause (what Chroma's own filtered search is given)."""
    clauses: list[dict] = [{key: value} for key, value in filters.where.items()]  # type: ignore[type-arg]
    for exclusion in filters.where_not:  # not (all of these): any one of them differs
        unlike = [{key: {"$ne": value}} for key, value in exclusion.items()]
        clauses.append(unlike[0] if len(unlike) == 1 else {"$or": unlike})
    return None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}


def assert_exact_beside_approximate(ours: list, chroma: list, tolerance: float = 1e-4) -> None:  # type: ignore[type-arg]
    """``ours`` (ids with distances, best first) is an exact top k beside Chroma's approximate (HNSW) one.

    Which passages HNSW misses changes from build to build (its graph is built by several threads), so the
    two lists' overlap is not compared. What holds every time: rank by rank, an exact list is never farther
    than an approximate one; a passage Chroma returns and the exact list leaves out is no closer than the
    exact list's last; and a passage both return has the same distance in both (the same stored vector)."""
    assert len(ours) == len(chroma), (ours, chroma)
    for exact, approximate in zip(ours, chroma, strict=True):
        assert exact.distance <= approximate.distance + tolerance, (ours, chroma)
    kept = {h.id for h in ours}
    last = ours[-1].distance if ours else 0.0
    assert all(h.distance >= last - tolerance for h in chroma if h.id not in kept), (ours, chroma)
    theirs = {h.id: h.distance for h in chroma}
    for hit in ours:
        if hit.id in theirs:
            assert hit.distance == pytest.approx(theirs[hit.id], abs=tolerance)


@pytest.mark.parametrize(
    ("filters", "wanted", "whole_partition"),
    [
        # common: most of the wide candidate list passes
        (ChunkFilters({"programme": "horizon-europe"}), lambda c: c.programme == "horizon-europe", False),
        (ChunkFilters({}, (MEXICAN_LAW,)), lambda c: not (c.programme == "mexico" and c.kind == "law"), False),
        # narrow: one small document, too few of the wide list pass, so the whole partition is ranked
        (ChunkFilters({"doc_id": "h2020-evaluation-form-ria"}), lambda c: c.doc_id == "h2020-evaluation-form-ria", True),
    ],
)
def test_dense_filters_give_what_a_filtered_chroma_query_gives(retriever, monkeypatch, filters, wanted, whole_partition) -> None:  # type: ignore[no-untyped-def]
    """Dense filters are applied in the catalog to a wider candidate list of the exact in-memory search;
    the passages kept must be those Chroma's own filtered search keeps, best first."""
    query = "What is the threshold for individual evaluation criteria?"
    vector = retriever.embed_query(query)
    in_memory = retriever.vectors(retriever.store)
    sizes: list[int | None] = []
    nearest = in_memory.nearest
    monkeypatch.setattr(in_memory, "nearest", lambda *a: sizes.append(a[3] if len(a) > 3 else None) or nearest(*a))
    ranked, _ = retriever._dense(retriever.store, vector, (DOCUMENTS,), filters, ("en",), "en", 0.05)
    assert (None in sizes) == whole_partition, sizes
    chunks = retriever.catalog.chunks_by_id(ranked)
    assert ranked and all(wanted(chunks[i]) for i in ranked)
    expected = retriever.store.query(DOCUMENTS, "en", vector, retriever.pool, _chroma_where(filters))
    distances = {h.id: h.distance for h in in_memory.nearest(DOCUMENTS, "en", vector)}
    ours = [DenseHit(i, distances[i]) for i in ranked[: len(expected)]]
    assert_exact_beside_approximate(ours, expected)


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_exact_in_memory_search_agrees_with_chroma(retriever, language: str) -> None:  # type: ignore[no-untyped-def]
    """The retriever ranks an exact in-memory copy of the stored vectors: the same distances as Chroma's
    for the passages both return, and never a farther passage than Chroma's approximate search at any rank,
    for both dense models."""
    questions = [
        "What is the threshold for individual evaluation criteria?",
        "¿Qué es el Consejo Nacional de Humanidades, Ciencias y Tecnologías?",
        "Can Mexican organisations receive EU funding?",
    ]
    for store in (s for s in (retriever.store, retriever.second) if s is not None):
        in_memory = retriever.vectors(store)
        collections = (DOCUMENTS, TOPICS) if store is retriever.store else (DOCUMENTS,)
        assert len(in_memory) == sum(len(store.all_ids(c)) for c in collections)
        for question in questions:
            vector = retriever.embed_query(question, store.embedder)
            ours = in_memory.nearest(DOCUMENTS, language, vector, 10)
            chroma = store.query(DOCUMENTS, language, vector, 10)
            assert [h.distance for h in ours] == sorted(h.distance for h in ours)
            assert_exact_beside_approximate(ours, chroma)
            everything = in_memory.nearest(DOCUMENTS, language, vector)
            assert len(everything) == len(store.all_ids(DOCUMENTS, language))
            assert [h.id for h in everything[:10]] == [h.id for h in ours]


def test_search_cli_json_and_batch(full_index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env, _ = full_index
    result = run_cli(["search", "threshold for individual criteria", "--json", "-k", "3"], env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # stdout holds only the JSON object
    assert data["query"] == "threshold for individual criteria"
    assert [r["rank"] for r in data["results"]] == [1, 2, 3]
    first = data["results"][0]
    assert {"document", "page", "chunk_id", "text", "score"} <= set(first)
    batch = tmp_path / "queries.txt"
    batch.write_text("Artículo 62\n\nSFS-33-2018\n", encoding="utf-8")
    result = run_cli(["search", "--batch", str(batch), "-k", "2"], env)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["Artículo 62", "SFS-33-2018"]


@pytest.mark.parametrize(
    ("question", "collection"),
    [
        ("¿El Tec de Monterrey aparece como participante en algún proyecto europeo?", PROJECTS),
        ("projects on geothermal energy with Mexican participants", PROJECTS),
        # "horizontal" is asked as "horizo"*, a prefix of "horizon", which most passages hold
        ("Which call topics ask for horizontal activities on soil health?", DOCUMENTS),
    ],
)
def test_terms_most_of_an_index_holds_are_left_out_without_changing_the_ranking(
    retriever, question: str, collection: str
) -> None:  # type: ignore[no-untyped-def]
    """FTS5's BM25 scores a term that more than half of the rows hold as nothing (idf 1e-6); leaving such
    terms out of the query ("projec"* and "partic"* are in every CORDIS record) gives the same scores, to
    1e-4, without matching and scoring those rows (90 ms for the first question). Only the order of rows
    whose scores tie (differ by the 1e-6 contributions) may change."""
    catalog = retriever.catalog
    table = "records_fts" if collection == PROJECTS else "chunks_fts"
    common = catalog._common_terms(table)
    assert {'"projec"*', '"partic"*'} <= catalog._common_terms("records_fts")
    assert '"monter"*' not in common and '"geothe"*' not in common
    full = fts_query(question)
    assert any(term in common for term in full.split(" OR "))  # something is left out
    # the whole query, as before, straight from the keyword index
    before = catalog.db.execute(
        f"SELECT c.id, -bm25({table}, 2.0, 1.0) AS score FROM {table} JOIN chunks c ON c.rowid = {table}.rowid "
        f"WHERE {table} MATCH ? AND c.collection = ? ORDER BY score DESC LIMIT 30",
        (full, collection),
    ).fetchall()
    after = [(c.id, score) for c, score in catalog.keyword_search(question, 30, collection)]

    def ties(rows: list[tuple[str, float]]) -> list[set[str]]:
        """The ids, best first, in groups of scores within 1e-4 of each other (the last group, which
        the limit may cut differently, left out)."""
        groups: list[set[str]] = []
        previous = None
        for cid, score in rows:
            if previous is None or previous - score > 1e-4:
                groups.append(set())
            groups[-1].add(cid)
            previous = score
        return groups[:-1]

    assert after and len(after) == len(before)
    assert all(abs(a[1] - b[1]) < 1e-4 for a, b in zip(after, before))
    assert ties(after) == ties(before)


def test_a_questions_words_reach_the_other_languages_passages(retriever) -> None:  # type: ignore[no-untyped-def]
    """Ingestion embedded each language's passage words; a Spanish question's words become the nearest English
    passage words (no word list), and a word the English passages use as it is stays as it is."""
    vocabulary = retriever.vocabulary
    words, matrix = retriever.catalog.vocabulary("en")
    assert len(words) > 1000 and matrix.shape == (len(words), 512)
    translated = vocabulary.translate("¿Qué dice sobre la evaluación, la subcontratación y la financiación?", "es")
    for stem in ("evaluat", "subcontract", "financ"):
        assert any(w.startswith(stem) for w in translated), (stem, translated)
    assert "horizon" not in vocabulary.translate("horizon", "es")  # the English passages use it: no translation
    english = vocabulary.translate("What does the law say about international cooperation?", "en")
    assert {"cooperación", "internacional"} <= set(english), english  # the Mexican law is Spanish
    # the keyword leg of a Spanish question finds the English rule
    query = read_query("¿Se puede subcontratar parte del trabajo?")
    found, _ = retriever.candidates(query)
    assert any(w.startswith("subcontract") for w in found.translated), found.translated
    assert any("subcontract" in found.chunks[cid].text.lower() for cid in found.ranked["keyword"][:5])


def test_the_vocabulary_is_embedded_again_only_when_the_documents_change(full_index) -> None:  # type: ignore[no-untyped-def]
    from assistant.index.vocabulary import refresh_vocabulary

    env, _ = full_index
    index = open_index(Settings(corpus_dir=Path(env["EUMEX_CORPUS_DIR"]), data_dir=Path(env["EUMEX_DATA_DIR"])))
    assert refresh_vocabulary(index.catalog, index.embedder) == 0  # ingestion built it for these documents
