"""The ``eumex`` command line.

    eumex corpus status | corpus fetch     what the corpus holds; fill it from a mirror or the web
    eumex ingest                           build or update the index (incremental, crash-safe)
    eumex stats                            describe the index
    eumex search "QUERY"                   the passages hybrid retrieval finds
    eumex ask "QUESTION"                   a cited answer, in English or Spanish
    eumex partners "QUERY" [--country MX]  organisations and projects from the CORDIS data, cited
    eumex eligibility --country MX         may it take part, is it funded (or a consortium: --partner ...)
    eumex topics "IDEA"                    the Horizon Europe topics that fit a research idea
    eumex serve                            the web chat and HTTP API (http://127.0.0.1:8000)
    eumex telegram                         the Telegram bot, by long polling (TELEGRAM_BOT_TOKEN)
    eumex feedback list                    what users said about answers
    eumex eval [--subset N]                score the dev set, side by side with baselines
    eumex settings [--format env]          every setting, documented (docs/settings.md, .env.example)

Results go to stdout, logs and progress bars to stderr. Every error a person can fix is
printed as one line that says how, with a non-zero exit code.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from assistant.config import Settings, load_settings
from assistant.errors import EumexError

log = logging.getLogger("eumex")


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stderr, level=getattr(logging, level), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("httpx", "chromadb", "urllib3", "httpcore", "absl"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our errors into a one-line message and exit code 1 (2 for configuration)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EumexError as exc:
            click.echo(f"Error: {exc}", err=True)
            raise SystemExit(2 if type(exc).__name__ == "ConfigError" else 1) from None

    return wrapper


@click.group()
@click.version_option(package_name="eumex-assistant")
@click.pass_context
@friendly
def cli(ctx: click.Context) -> None:
    """EUMEX Assistant: cited answers about EU research funding from the EU–Mexico angle."""
    settings = load_settings()
    _setup_logging(settings.log_level)
    ctx.obj = settings


# --- corpus --------------------------------------------------------------------------------------
@cli.group()
def corpus() -> None:
    """Inspect and fetch the corpus documents listed in the manifest."""


@corpus.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
@friendly
def corpus_status_cmd(settings: Settings, as_json: bool) -> None:
    """Show, per document: present, missing, checksum mismatch, or not available."""
    from assistant.manifest import load_manifest
    from ingestion.corpus import MISMATCH, MISSING, corpus_status

    manifest = load_manifest(settings.manifest)
    rows = list(corpus_status(manifest, settings.corpus_dir))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "corpus_dir": str(settings.corpus_dir),
                    "documents": [
                        {"id": r.document.id, "path": r.document.path, "status": r.status, "detail": r.detail}
                        for r in rows
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        click.echo(f"Corpus directory: {settings.corpus_dir}")
        width = max(len(r.document.path) for r in rows)
        for r in rows:
            click.echo(f"  {r.status:<18} {r.document.path:<{width}}  {r.detail}".rstrip())
        counts: dict[str, int] = {}
        for r in rows:
            counts[r.status] = counts.get(r.status, 0) + 1
        click.echo("  " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if any(r.status in {MISSING, MISMATCH} for r in rows):
        raise SystemExit(1)


@corpus.command("fetch")
@click.option("--mirror", type=click.Path(file_okay=False, path_type=str), help="Overrides EUMEX_CORPUS_MIRROR.")
@click.pass_obj
@friendly
def corpus_fetch_cmd(settings: Settings, mirror: str | None) -> None:
    """Copy (from EUMEX_CORPUS_MIRROR) or download every present document, verifying sha256."""
    from pathlib import Path

    from assistant.manifest import load_manifest
    from ingestion.corpus import fetch_corpus

    manifest = load_manifest(settings.manifest)
    source = Path(mirror).resolve() if mirror else settings.corpus_mirror
    click.echo(f"Fetching into {settings.corpus_dir} from {source or 'the documents’ URLs'}", err=True)
    failed = 0
    for doc, outcome, detail in fetch_corpus(manifest, settings.corpus_dir, source):
        click.echo(f"  {outcome:<10} {doc.path}" + (f"  - {detail}" if detail else ""))
        failed += outcome == "failed"
    if failed:
        click.echo(f"{failed} document(s) could not be fetched.", err=True)
        raise SystemExit(1)


# --- index ---------------------------------------------------------------------------------------
@cli.command()
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option(
    "--accept-mismatch",
    is_flag=True,
    help="Index files whose sha256 differs from the manifest (default: refuse them and keep their previous "
    "version; EUMEX_ACCEPT_CHECKSUM_MISMATCH).",
)
@click.pass_obj
@friendly
def ingest(settings: Settings, quiet: bool, accept_mismatch: bool) -> None:
    """Parse, chunk, embed and index the corpus; only changed documents are redone."""
    from ingestion.ingest import ingest as run_ingestion

    if accept_mismatch:
        settings = settings.model_copy(update={"accept_checksum_mismatch": True})

    report = run_ingestion(
        settings, progress=not quiet and sys.stderr.isatty(), echo=lambda m: click.echo(m, err=True)
    )
    s = report.seconds
    click.echo("Ingestion summary")
    click.echo(
        f"  documents: {len(report.ingested)} indexed, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed, {len(report.failed)} failed"
    )
    click.echo(
        f"  pages: {report.pages}  records: {report.records}  chunks: {report.chunks}  "
        f"embedded: {report.embedded} (+ {report.embedded_sentences} answer sentences, "
        f"{report.embedded_second} e5 passages, {report.embedded_words} vocabulary words)  "
        f"reused vectors: {report.reused_vectors}  "
        f"deleted vectors: {report.deleted_vectors}"
    )
    stages = ("check", "parse", "chunk", "embed", "store", "second", "sentences", "catalog", "eligibility", "cleanup",
              "vocabulary")
    click.echo("  seconds: " + "  ".join(f"{k} {s.get(k, 0.0):.1f}" for k in stages) + f"  total {s['total']:.1f}")
    if report.pages and s.get("parse"):
        click.echo(f"  speed: {report.pages / s['parse']:.0f} pages/s parsed", nl=False)
        click.echo(f", {report.embedded / s['embed']:.0f} chunks/s embedded" if report.embedded else "")
    for warning in report.warnings:
        click.echo(f"  warning: {warning}")
    for path, reason in report.failed:
        click.echo(f"  FAILED {path}: {reason}")
    if report.failed:
        raise SystemExit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@friendly
def stats(settings: Settings, as_json: bool) -> None:
    """Describe the index: documents, pages, chunks, and whether Chroma matches the keyword index."""
    from assistant.pipeline import index_stats

    data = index_stats(settings)
    counts: dict[str, int] = data["catalog"]  # type: ignore[assignment]
    vectors: dict[str, int] = data["vectors"]  # type: ignore[assignment]
    second_vectors: dict[str, int] = data["second_vectors"]  # type: ignore[assignment]
    consistent = data["consistent"]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"Index in {data['data_dir']} ({data['vector_store']}, embedder {data['embedder']})")
    click.echo(
        f"  documents {counts['documents']}  pages {counts['pages']}  chunks {counts['chunks']} "
        f"(passages {counts.get('chunks_documents', 0)}, topics {counts.get('chunks_topics', 0)}, "
        f"project records {counts.get('chunks_projects', 0)})"
    )
    click.echo(
        f"  vectors: passages {vectors['documents']}, topics {vectors['topics']}"
        + (f", e5 passages {second_vectors['documents']}" if data["second_embedder"] else "")
        + "  -> "
        + ("matches the keyword index" if consistent else "DIFFERS from the keyword index: run `eumex ingest`")
    )
    partners: dict[str, int] = data["partners"]  # type: ignore[assignment]
    click.echo(
        f"  partner index: {partners['projects']} projects, {partners['participations']} participations of "
        f"{partners['organisations']} organisations in {partners['projects_with_participants']} projects"
    )
    click.echo(
        f"  Horizon Europe call topics: {data['call_topics']}; eligibility rules: "
        + ("read from the documents" if data["eligibility_rules"] else "none (no General Annexes ingested)")
    )
    for d in data["documents"]:  # type: ignore[attr-defined]
        click.echo(f"  {d['path']:<80} pages {d['pages']:>4}  chunks {d['chunks']:>6}  rows {d['records']:>6}")
    if counts["chunks"] == 0:
        click.echo("The index is empty - run `eumex ingest`.")


def _questions(batch: str | None, text: str | None) -> list[str]:
    """One question from the argument, or one per line of --batch FILE ('-' for stdin)."""
    if batch is None:
        if not text:
            raise click.UsageError("Give a QUERY, or --batch FILE with one per line.")
        return [text]
    stream = sys.stdin if batch == "-" else open(batch, encoding="utf-8")  # noqa: SIM115
    with stream:
        return [line.strip() for line in stream if line.strip()]


@cli.command()
@click.argument("query", required=False)
@click.option("-k", "k", default=8, show_default=True, type=click.IntRange(1, 100), help="Results to return.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per query with --batch).")
@click.option("--batch", type=str, default=None, help="File with one query per line ('-' for stdin).")
@click.option("--collection", type=click.Choice(["documents", "topics", "projects"]), multiple=True,
              help="Where to search (default: documents).")
@click.pass_obj
@friendly
def search(settings: Settings, query: str | None, k: int, as_json: bool, batch: str | None,
           collection: tuple[str, ...]) -> None:
    """Show the passages the assistant would read for QUERY (hybrid retrieval)."""
    from assistant.pipeline import build_pipeline

    assistant = build_pipeline(settings)
    for q in _questions(batch, query):
        data = assistant.search(q, k=k, collections=collection or ("documents",))
        results: list[dict[str, Any]] = data["results"]  # type: ignore[assignment]
        if as_json or batch is not None:
            click.echo(json.dumps(data, ensure_ascii=False))
            continue
        click.echo(f"Results for: {q}")
        for r in results:
            where = f"p. {r['page']}" if r["page"] else r["locator"]
            snippet = " ".join(str(r["text"]).split())[:220]
            click.echo(f"{r['rank']:>2}. {r['document']} ({where}) [{'+'.join(r['sources'])}]")
            click.echo(f"    {snippet}")


@cli.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
@click.option("--lang", type=click.Choice(["auto", "en", "es"]), default="auto", show_default=True,
              help="Language of the answer (auto: the question's).")
@click.option("--conversation", "conversation_id", default=None, help="Conversation id, for follow-up questions.")
@click.option("--batch", type=str, default=None, help="File with one question per line ('-' for stdin).")
@click.pass_obj
@friendly
def ask(settings: Settings, question: str | None, as_json: bool, lang: str, conversation_id: str | None,
        batch: str | None) -> None:
    """Answer QUESTION with numbered citations (document, page, verbatim quote)."""
    from assistant.errors import QuestionError
    from assistant.pipeline import build_pipeline

    assistant = build_pipeline(settings)
    assistant.ensure_ready()
    for q in _questions(batch, question):
        try:
            answer = assistant.ask(q, conversation_id=conversation_id, lang=lang)
        except QuestionError as exc:
            if batch is None:
                raise
            click.echo(json.dumps({"question": q, "error": str(exc)}, ensure_ascii=False))
            continue
        if as_json or batch is not None:
            data = answer.as_json()
            if batch is not None:
                data = {"question": q, **data}
            click.echo(json.dumps(data, ensure_ascii=False))
            continue
        _print_cited(answer.as_json(), as_json=False)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.pass_obj
@friendly
def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the web chat at / and the HTTP API under /api (OpenAPI docs at /docs)."""
    from assistant.pipeline import ensure_index
    from bots.web.app import create_app
    from bots.web.server import serve as serve_app

    ensure_index(settings)
    click.echo(f"EUMEX Assistant: open http://{host}:{port}/ (API docs at /docs). Ctrl+C stops it.", err=True)
    serve_app(create_app(settings), settings, host, port)


@cli.group()
def feedback() -> None:
    """Read the feedback users gave on answers."""


@feedback.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000), help="Most recent N.")
@click.pass_obj
@friendly
def feedback_list_cmd(settings: Settings, as_json: bool, limit: int) -> None:
    """List the most recent feedback first."""
    import time

    from bots.feedback import FeedbackStore

    items = FeedbackStore(settings.feedback_path).list(limit)
    for item in items:
        if as_json:
            click.echo(json.dumps(item, ensure_ascii=False))
            continue
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(item["created_at"]))
        thumb = "+" if item["rating"] == "up" else "-"
        click.echo(f"{item['id']:>5} {when} [{thumb}] conversation {item['conversation_id']}")
        if item["question"]:
            click.echo(f"      Q: {item['question']}")
        click.echo(f"      A: {' '.join(item['message'].split())[:200]}")
        if item["reason"]:
            click.echo(f"      reason: {item['reason']}")
    if not items and not as_json:
        click.echo("No feedback yet.")


@cli.command("settings")
@click.option("--format", "fmt", type=click.Choice(["markdown", "env"]), default="markdown", show_default=True,
              help="markdown: the reference in docs/settings.md; env: a commented .env.example.")
def settings_cmd(fmt: str) -> None:
    """Print every setting with its variable, type, default and meaning (generated from the code)."""
    from bots.settings_doc import render_env_example, render_markdown

    click.echo(render_markdown() if fmt == "markdown" else render_env_example(), nl=False)


@cli.command()
@click.pass_obj
@friendly
def telegram(settings: Settings) -> None:
    """Run the Telegram bot by long polling (needs TELEGRAM_BOT_TOKEN; see docs/telegram.md)."""
    from bots.telegram.app import run

    run(settings)


@cli.command("eval")
@click.option("--dataset", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="JSONL dataset (default: evals/datasets/dev.jsonl).")
@click.option("--subset", type=click.IntRange(1), default=None,
              help="A deterministic subset of N questions balanced by language and answerability.")
@click.option("--llm-judge", is_flag=True, help="Also score faithfulness and relevancy with a judge LLM.")
@click.option("--judge-url", default=None, help="Judge endpoint (…/v1); default EUMEX_LLM_BASE_URL.")
@click.option("--judge-model", default=None, help="Judge model; default EUMEX_LLM_MODEL.")
@click.option("--out", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Results directory; each run writes a timestamped folder in it (default: evals/results).")
@click.option("--baselines/--no-baselines", default=True, show_default=True,
              help="Run the LangChain+Chroma dense and BM25 keyword baselines on the same questions.")
@click.option("--gate", is_flag=True, help="Check the run against evals/gate.toml; exit 1 when it fails.")
@click.pass_obj
@friendly
def eval_cmd(settings: Settings, dataset: str | None, subset: int | None, llm_judge: bool, judge_url: str | None,
             judge_model: str | None, out: str | None, baselines: bool, gate: bool) -> None:
    """Run a question set through the assistant and write results, summary and report (see docs/evaluation.md)."""
    from pathlib import Path

    from evals.dataset import DEFAULT_DATASET
    from evals.runner import DEFAULT_RESULTS, EvalOptions, headline, run_evaluation

    options = EvalOptions(
        dataset=Path(dataset) if dataset else DEFAULT_DATASET, subset=subset,
        out=Path(out) if out else DEFAULT_RESULTS, baselines=baselines, llm_judge=llm_judge,
        judge_url=judge_url, judge_model=judge_model, gate=gate,
    )
    run_dir, summary = run_evaluation(settings, options, echo=lambda m: click.echo(m, err=True))
    click.echo(f"Evaluation written to {run_dir}")
    for line in headline(summary):
        click.echo(line)
    if gate and summary["gate"]["failures"]:
        raise SystemExit(1)


# --- partners ------------------------------------------------------------------------------------
@cli.command()
@click.argument("query", required=False, default="")
@click.option("--country", "countries", multiple=True, help="Country code of participants (e.g. MX); repeatable.")
@click.option("--topic", default=None, help="Call topic code (e.g. SC5-13-2018-2019).")
@click.option("--action", type=click.Choice(["ERA-NET", "RIA", "IA", "CSA", "MSCA", "ERC"]), default=None,
              help="Type of action.")
@click.option("--coordinators", is_flag=True, help="Only coordinators.")
@click.option("--lang", type=click.Choice(["auto", "en", "es"]), default="auto", show_default=True,
              help="Language of the explanation.")
@click.option("-n", "limit", default=10, show_default=True, type=click.IntRange(1, 200), help="Projects to show.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@friendly
def partners(settings: Settings, query: str, countries: tuple[str, ...], topic: str | None, action: str | None,
             coordinators: bool, lang: str, limit: int, as_json: bool) -> None:
    """Who took part in which projects (CORDIS data): QUERY and/or filters, each result cited."""
    from assistant.pipeline import build_pipeline

    if not query.strip() and not (countries or topic or action):
        raise click.UsageError("Give a QUERY, or at least one of --country, --topic, --action.")
    data = build_pipeline(settings).partners(
        query, countries=countries, topic=topic, action=action, coordinators=coordinators, lang=lang, limit=limit
    )
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(data["answer"])
    for c in data["citations"]:  # type: ignore[attr-defined]
        click.echo(f"  [{c['n']}] {c['locator']} - {c['quote']}" + (f" <{c['url']}>" if c["url"] else ""))


# --- Horizon Europe: eligibility and topics -------------------------------------------------------------
ACTION_CHOICES = ["RIA", "IA", "CSA", "MSCA-DN", "MSCA-PF", "MSCA-SE", "ERC"]


def _partner_rows(partners: tuple[str, ...], csv_file: str | None) -> list[dict[str, str]]:
    """Partners from repeated --partner "NAME,COUNTRY,TYPE" and/or a CSV file with those columns."""
    import csv

    rows = [line for line in partners]
    if csv_file:
        with open(csv_file, encoding="utf-8", newline="") as fh:
            rows += [",".join(r) for r in csv.reader(fh) if r and not r[0].lower().startswith("name")]
    out = []
    for row in rows:
        fields = [f.strip() for f in row.split(",")]
        if len(fields) != 3 or not all(fields):
            raise click.UsageError(f'A partner is "NAME,COUNTRY,TYPE" (e.g. "UNAM,MX,HES"), not "{row}".')
        out.append({"name": fields[0], "country": fields[1], "type": fields[2].upper()})
    return out


@cli.command()
@click.option("--country", default=None, help="Country (ISO code or English/Spanish name), e.g. MX or México.")
@click.option("--type", "entity_type", type=click.Choice(["HES", "REC", "PRC", "PUB", "OTH"], case_sensitive=False),
              default="HES", show_default=True, help="Type of entity.")
@click.option("--action", type=click.Choice(ACTION_CHOICES, case_sensitive=False), default="RIA", show_default=True,
              help="Type of action.")
@click.option("--programme", type=click.Choice(["he", "h2020"]), default="he", show_default=True)
@click.option("--partner", "partners", multiple=True, help='A consortium partner "NAME,COUNTRY,TYPE"; repeatable.')
@click.option("--partners-csv", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A CSV of partners (name,country,type).")
@click.option("--lang", type=click.Choice(["en", "es"]), default="en", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@friendly
def eligibility(settings: Settings, country: str | None, entity_type: str, action: str, programme: str,
                partners: tuple[str, ...], partners_csv: str | None, lang: str, as_json: bool) -> None:
    """May an entity take part in Horizon Europe, is it funded (one --country), or does a consortium meet
    the rules (--partner ... or --partners-csv): each reason cited to its page."""
    from assistant.pipeline import build_pipeline

    rows = _partner_rows(partners, partners_csv)
    if not country and not rows:
        raise click.UsageError("Give --country, or the consortium with --partner/--partners-csv.")
    assistant = build_pipeline(settings)
    data = (
        assistant.consortium(rows, action.upper(), programme, lang)
        if rows
        else assistant.eligibility(country or "", entity_type.upper(), action.upper(), programme, lang)
    )
    _print_cited(data, as_json)


@cli.command()
@click.argument("idea")
@click.option("--lang", type=click.Choice(["auto", "en", "es"]), default="auto", show_default=True)
@click.option("--open-after", type=click.DateTime(["%Y-%m-%d"]), default=None, help="A deadline on or after DATE.")
@click.option("--deadline-before", type=click.DateTime(["%Y-%m-%d"]), default=None, help="A deadline on or before DATE.")
@click.option("--action", default=None, help="Type of action (RIA, IA, CSA, MSCA-DN, ERC-StG...).")
@click.option("--part", default=None, help="Work programme part (2-12, or ERC).")
@click.option("--international", is_flag=True, help="Only topics that encourage or require international cooperation.")
@click.option("-n", "limit", default=10, show_default=True, type=click.IntRange(1, 50), help="Topics to show.")
@click.option("--ics", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the shown topics' deadlines to this iCalendar file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@friendly
def topics(settings: Settings, idea: str, lang: str, open_after: Any, deadline_before: Any, action: str | None,
           part: str | None, international: bool, limit: int, ics: str | None, as_json: bool) -> None:
    """The Horizon Europe topics that fit a research IDEA (a sentence or an abstract, English or Spanish), with
    dates, money, why each fits (quoted) and whether it is still open."""
    from assistant.pipeline import build_pipeline
    from assistant.types import TopicFilters

    filters = TopicFilters(
        open_after=open_after.date() if open_after else None,
        deadline_before=deadline_before.date() if deadline_before else None,
        action=action, part=part, international=international,
    )
    assistant = build_pipeline(settings)
    data = assistant.topics(idea, filters, n=limit, lang=lang)
    if ics:
        codes = [t["code"] for t in data["topics"]]  # type: ignore[index]
        with open(ics, "w", encoding="utf-8", newline="") as fh:
            fh.write(assistant.topic_calendar(codes))
        click.echo(f"Deadlines of {len(codes)} topic(s) written to {ics}", err=True)
    _print_cited(data, as_json)


def _print_cited(data: dict[str, Any], as_json: bool) -> None:
    """A structured answer as JSON, or as its text and numbered sources."""
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(data["answer"])
    if data["citations"]:
        click.echo("")
    for c in data["citations"]:
        where = f"p. {c['page']}" if c["page"] is not None else (c["locator"] or "")
        click.echo(f"[{c['n']}] {c['title']} — {where}: “{c['quote']}”" + (f" — {c['url']}" if c.get("url") else ""))


def main() -> None:
    cli(prog_name="eumex")


if __name__ == "__main__":
    main()
