"""The evaluation: metric functions on hand-made samples, `eumex eval` end to end, the LLM-judge path
against the fake OpenAI-compatible server, and the CI quality gate (thresholds in evals/gate.toml)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evals.compare import compare
from evals.dataset import DEFAULT_DATASET, balanced_subset, load_dataset
from evals.gate import GATE_FILE, Gate, check, load_gate
from evals.metrics import (
    Passage,
    Ref,
    hit_at_k,
    matches,
    ndcg_at_k,
    percentile,
    recall_at_k,
    reciprocal_rank,
    retrieval_scores,
)
from evals.scoring import flatten
from tests.fake_llm import fake_llm_server, judge_reply
from tests.support import run_cli

DOC = "rules/guide.pdf"
OTHER = "rules/other.pdf"
CORDIS = "cordis/projects.xlsx"


# --- metric functions ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("passage", "ref", "expected"),
    [
        (Passage(DOC, 12, 12), Ref(DOC, 12), True),
        (Passage(DOC, 11, 13), Ref(DOC, 12), True),  # a chunk spanning the reference page
        (Passage(DOC, 11, None), Ref(DOC, 12), False),  # page_end None means one page
        (Passage(DOC, 13, 14), Ref(DOC, 12), False),
        (Passage(OTHER, 12, 12), Ref(DOC, 12), False),  # same page, other document
        (Passage(DOC, None, None, "project 731505 (row 12)"), Ref(DOC, 12), False),
        (Passage(CORDIS, None, None, "project 731505 (projects.xlsx, row 12)"), Ref(CORDIS, None, "project 731505"), True),
        (Passage(CORDIS, None, None, "project 7315050 (row 3)"), Ref(CORDIS, None, "project 731505"), False),
        (Passage(CORDIS, None, None, "topic LCE-23-2016"), Ref(CORDIS, None, "topic LCE-23"), False),
    ],
)
def test_matches_by_document_and_page(passage: Passage, ref: Ref, expected: bool) -> None:
    assert matches(passage, ref) is expected


def test_ranking_metrics_on_a_hand_made_ranking() -> None:
    refs = [Ref(DOC, 3), Ref(DOC, 7)]
    # ranks: 1 miss, 2 page 3, 3 page 3 again (no new reference), 4 miss, 5 page 7
    ranking = [Passage(OTHER, 3), Passage(DOC, 3), Passage(DOC, 2, 3), Passage(DOC, 9), Passage(DOC, 7)]
    assert hit_at_k(ranking, refs, 1) == 0.0
    assert hit_at_k(ranking, refs, 2) == 1.0
    assert recall_at_k(ranking, refs, 1) == 0.0
    assert recall_at_k(ranking, refs, 3) == 0.5
    assert recall_at_k(ranking, refs, 5) == 1.0
    assert reciprocal_rank(ranking, refs) == 0.5
    assert reciprocal_rank(ranking, refs, k=1) == 0.0
    # DCG = 1/log2(3) + 1/log2(6); ideal = 1/log2(2) + 1/log2(3)
    expected = (1 / math.log2(3) + 1 / math.log2(6)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(ranking, refs, 10) == pytest.approx(expected)
    assert ndcg_at_k([Passage(DOC, 3), Passage(DOC, 7)], refs, 10) == pytest.approx(1.0)
    assert ndcg_at_k(ranking, refs, 1) == 0.0


def test_retrieval_scores_when_nothing_matches_and_with_no_references() -> None:
    scores = retrieval_scores([Passage(OTHER, 1)] * 10, [Ref(DOC, 1)])
    assert set(scores) == {"hit@1", "recall@1", "hit@5", "recall@5", "hit@10", "recall@10", "mrr", "ndcg@10"}
    assert all(v == 0.0 for v in scores.values())
    assert recall_at_k([Passage(DOC, 1)], [], 5) == 0.0
    assert ndcg_at_k([Passage(DOC, 1)], [], 5) == 0.0


def test_page_level_ids_for_ragas() -> None:
    assert Ref(DOC, 12).id == f"{DOC}#p12"
    assert Ref(CORDIS, None, "project 731505").id == f"{CORDIS}#project 731505"
    assert Passage(DOC, 11, 12).ids() == [f"{DOC}#p11", f"{DOC}#p12"]
    assert Passage(CORDIS, None, None, "project 731505 (projects.xlsx, row 12)").ids() == [f"{CORDIS}#project 731505"]


def test_percentile_interpolates() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert percentile(values, 50) == 30.0
    assert percentile(values, 95) == pytest.approx(48.0)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_balanced_subset_is_deterministic_and_balanced() -> None:
    items = load_dataset(DEFAULT_DATASET)
    first = balanced_subset(items, 24)
    # The choice depends on the ids only, not the file order; the subset keeps the file order.
    assert {i["id"] for i in balanced_subset(list(reversed(items)), 24)} == {i["id"] for i in first}
    assert first == [i for i in items if i in first]
    groups: dict[tuple[str, bool], int] = {}
    for item in first:
        key = (item["language"], item["answerable"])
        groups[key] = groups.get(key, 0) + 1
    assert groups == {("en", True): 6, ("es", True): 6, ("en", False): 6, ("es", False): 6}
    four = balanced_subset(items, 4)
    assert {(i["language"], i["answerable"]) for i in four} == set(groups)
    assert balanced_subset(items, None) == items


def test_gate_check_reports_each_missed_threshold() -> None:
    summary = {"retrieval": {"ours": {"hit@5": {"en": 0.8, "es": 0.5}}},
               "abstention": {"answerable_refused": {"n": 3, "of": 10, "value": 0.3}}}
    gate = Gate(24, {"retrieval.ours.hit@5.en": 0.75, "retrieval.ours.hit@5.es": 0.6, "missing.metric": 0.1},
                {"abstention.answerable_refused": 0.2})
    failures = check(summary, gate)
    assert len(failures) == 3
    assert any("hit@5.es = 0.5 is below the minimum 0.6" in f for f in failures)
    assert any("missing.metric = None" in f for f in failures)
    assert any("answerable_refused = 0.3 is above the maximum 0.2" in f for f in failures)
    assert check(summary, Gate(24, {"retrieval.ours.hit@5.en": 0.8}, {})) == []
    assert flatten(summary) == {"retrieval.ours.hit@5.en": 0.8, "retrieval.ours.hit@5.es": 0.5,
                                "abstention.answerable_refused": 0.3}


def test_compare_lists_metric_deltas_and_flipped_questions() -> None:
    def row(qid: str, hit: float, abstained: bool, verified: int = 1) -> dict:
        return {"id": qid, "abstained": abstained,
                "scores": {"hit@5": hit, "quotes": 1, "quotes_verified": verified, "cites_reference": not abstained}}

    before = ({"run": {"questions_key": "k"}, "abstention": {"answerable_refused": {"n": 1, "of": 3, "value": 1 / 3}}},
              [row("a", 1.0, False), row("b", 0.0, True), row("c", 1.0, False)])
    after = ({"run": {"questions_key": "k"}, "abstention": {"answerable_refused": {"n": 1, "of": 3, "value": 1 / 3}}},
             [row("a", 0.0, True), row("b", 1.0, False), row("c", 1.0, False, verified=0)])
    result = compare(before, after, "20260101T000000Z")
    assert result["same_questions"] and result["common_questions"] == 3
    assert result["flips"]["hit@5"] == {"miss→hit": ["b"], "hit→miss": ["a"]}
    assert result["flips"]["abstained"] == {"answered→refused": ["a"], "refused→answered": ["b"]}
    assert result["flips"]["all_quotes_verified"] == {"fixed": [], "broken": ["c"]}
    assert result["deltas"]["abstention.answerable_refused"]["delta"] == 0.0


# --- eumex eval end to end -----------------------------------------------------------------------
@pytest.mark.slow
def test_eval_command_writes_a_run_and_compares_it_with_the_previous(full_index, tmp_path: Path) -> None:
    env, _ = full_index
    out = tmp_path / "results"
    first = run_cli(["eval", "--subset", "4", "--out", str(out)], env)
    assert first.returncode == 0, first.stderr[-3000:] + first.stdout
    second = run_cli(["eval", "--subset", "4", "--out", str(out), "--no-baselines"], env)
    assert second.returncode == 0, second.stderr[-3000:] + second.stdout
    runs = sorted(p for p in out.iterdir() if p.is_dir())
    assert len(runs) == 2
    for run in runs:
        assert {"results.jsonl", "summary.json", "report.md"} <= {p.name for p in run.iterdir()}

    rows = [json.loads(line) for line in (runs[0] / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 4
    assert {(r["language"], r["answerable"]) for r in rows} == {("en", True), ("es", True), ("en", False), ("es", False)}
    for r in rows:
        assert {"question", "language", "answer", "abstained", "citations", "contexts", "timings_ms", "scores"} <= set(r)
        assert "total" in r["timings_ms"]
        for c in r["contexts"]:
            assert {"chunk_id", "document", "page_start", "page_end", "text"} <= set(c)
        if r["answerable"]:
            assert {"hit@1", "hit@5", "hit@10", "mrr", "ndcg@10", "string_similarity", "rouge_l"} <= set(r["scores"])
            if r["contexts"]:
                assert {"context_recall", "context_precision", "id_context_recall"} <= set(r["scores"])
            assert set(r["baselines"]) == {"dense", "keyword"}
            assert "hit@5" in r["baselines"]["dense"]["scores"]

    summary = json.loads((runs[0] / "summary.json").read_text(encoding="utf-8"))
    assert summary["questions"]["total"] == 4
    assert set(summary["retrieval"]) == {"ours", "dense", "keyword"}
    assert set(summary["ratios"]) == {"dense", "keyword"}
    assert {"retrieve", "total"} <= set(summary["latency_ms"])
    assert summary["citations"]["quotes_verbatim"]["value"] in (None, 1.0)
    assert "comparison" not in summary
    report = (runs[0] / "report.md").read_text(encoding="utf-8")
    assert "## Retrieval" in report and "Ratio ours / baseline" in report

    later = json.loads((runs[1] / "summary.json").read_text(encoding="utf-8"))
    assert later["comparison"]["previous"] == runs[0].name
    assert later["comparison"]["same_questions"] and later["comparison"]["common_questions"] == 4
    assert "retrieval.ours.hit@5.all" in later["comparison"]["deltas"]
    assert "Compared with the previous run" in (runs[1] / "report.md").read_text(encoding="utf-8")
    assert "Evaluation written to" in second.stdout


# --- the LLM judge, against the fake OpenAI-compatible server ------------------------------------
@pytest.mark.slow
def test_llm_judge_scores_faithfulness_and_relevancy_through_the_given_endpoint(
    full_settings, assistant, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    from evals.runner import EvalOptions, run_evaluation

    item = next(i for i in load_dataset(DEFAULT_DATASET) if i["id"] == "en-001")
    dataset = tmp_path / "one.jsonl"
    dataset.write_text(json.dumps(item, ensure_ascii=False) + "\n", encoding="utf-8")
    with fake_llm_server() as fake:
        fake.default = judge_reply(item["user_input"])
        options = EvalOptions(dataset=dataset, out=tmp_path / "results", baselines=False, llm_judge=True,
                              judge_url=fake.base_url, judge_model="judge-model")
        run_dir, summary = run_evaluation(full_settings, options, assistant=assistant)
    row = json.loads((run_dir / "results.jsonl").read_text(encoding="utf-8"))
    assert not row["abstained"], row["answer"]
    assert row["scores"]["faithfulness"] == pytest.approx(0.5)
    assert row["scores"]["answer_relevancy"] == pytest.approx(1.0, abs=1e-3)
    assert summary["ragas"]["faithfulness"]["all"] == pytest.approx(0.5)
    assert summary["run"]["judge"].startswith("judge-model at http://127.0.0.1:")
    prompts = [r["messages"][-1]["content"] for r in fake.requests if "messages" in r]
    assert any("fully understandable statements" in p for p in prompts)
    assert any("Generate a question for the given answer" in p for p in prompts)
    assert all(r.get("model") == "judge-model" for r in fake.requests)


def test_llm_judge_without_an_endpoint_says_how_to_configure_one(tmp_path: Path) -> None:
    from assistant.config import Settings
    from assistant.errors import ConfigError
    from evals.runner import EvalOptions, run_evaluation

    options = EvalOptions(dataset=DEFAULT_DATASET, out=tmp_path, llm_judge=True)
    with pytest.raises(ConfigError, match="--judge-url"):
        run_evaluation(Settings(data_dir=tmp_path / "data"), options)


# --- the CI quality gate -------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    ("dataset", "gate_file"),
    [
        (DEFAULT_DATASET, GATE_FILE),  # the H2020, law and CORDIS development questions
        (DEFAULT_DATASET.with_name("dev_he.jsonl"), GATE_FILE.with_name("gate_he.toml")),  # Horizon Europe
    ],
)
def test_quality_gate(full_settings, assistant, tmp_path: Path, dataset: Path, gate_file: Path) -> None:  # type: ignore[no-untyped-def]
    """A balanced subset of each development set must stay above the thresholds of its gate file."""
    from evals.runner import EvalOptions, run_evaluation

    gate = load_gate(gate_file)
    options = EvalOptions(dataset=dataset, subset=gate.subset, out=tmp_path, baselines=False, ragas=False, gate=True)
    _, summary = run_evaluation(full_settings, options, assistant=assistant)
    assert summary["questions"]["total"] == min(gate.subset, len(load_dataset(dataset)))
    failures = check(summary, gate)
    assert failures == [], "\n".join(failures)
