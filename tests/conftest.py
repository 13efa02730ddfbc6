"""Shared fixtures: the real corpus, the manifest, a small-PDF factory, and a network guard.

The real corpus is read-only test data; it is never copied into the repository. Set
``EUMEX_TEST_CORPUS`` to its directory (the one holding ``SOURCES.tsv``) when it is not at
``<workspace>/shared/corpus/raw``.
"""

from __future__ import annotations

import os
import socket
from datetime import date
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.config import DEFAULT_MANIFEST
from assistant.manifest import Manifest, load_manifest

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@pytest.fixture(scope="session", autouse=True)
def network_guard() -> Iterator[None]:
    """Refuse every TCP/UDP connection that does not go to this machine."""
    real_connect = socket.socket.connect

    def guarded_connect(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if host not in LOCAL_HOSTS:
                raise RuntimeError(
                    f"network access blocked in tests: connect to {address!r} "
                    f"(only {', '.join(sorted(LOCAL_HOSTS))} are allowed)"
                )
        return real_connect(sock, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", guarded_connect)
        yield


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The real, read-only corpus (the directory with SOURCES.tsv)."""
    configured = os.environ.get("EUMEX_TEST_CORPUS")
    path = (
        Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "corpus" / "raw"
    )
    if not path.is_dir():
        pytest.fail(
            f"The real corpus is not at {path}. Set EUMEX_TEST_CORPUS to the corpus directory "
            "(the one holding SOURCES.tsv); these tests need it and are not skipped.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def manifest() -> Manifest:
    """The project's corpus manifest (corpus/manifest.toml)."""
    return load_manifest(DEFAULT_MANIFEST)


@pytest.fixture
def make_pdf(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_pdf(["page one\\nsecond line", "page two"], name="x.pdf") -> Path``.

    Writes a real PDF (reportlab, Helvetica, one string per page, one text line per ``\\n``)
    into ``tmp_path``. An empty string gives a page without any text.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    line_height, margin = 14, 72

    def make(pages: list[str], name: str = "document.pdf") -> Path:
        path = tmp_path / name
        pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)
        for text in pages:
            lines = text.split("\n") if text else []
            if len(lines) * line_height > A4[1] - 2 * margin:
                raise ValueError(f"make_pdf: {len(lines)} lines do not fit on one A4 page")
            y = A4[1] - margin
            for line in lines:
                pdf.drawString(margin, y, line)
                y -= line_height
            pdf.showPage()
        pdf.save()
        return path

    return make


@pytest.fixture(scope="session")
def full_index(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> tuple[dict[str, str], str]:
    """The whole real corpus ingested once through the CLI (embedded Chroma): (environment, summary)."""
    from tests.support import cli_env, run_cli

    # EUMEX_TEST_DATA_DIR (development only) keeps the index between runs: ingestion is incremental,
    # so a second session re-checks every unit (~3 s) instead of rebuilding (~10 minutes on 2 cores,
    # most of it the e5 embedding of the passages: docs/benchmarks.md).
    kept = os.environ.get("EUMEX_TEST_DATA_DIR")
    data = Path(kept) if kept else tmp_path_factory.mktemp("full-index")
    env = cli_env(corpus_dir, data)
    result = run_cli(["ingest", "--quiet"], env, timeout=1700)
    assert result.returncode == 0, result.stderr + result.stdout
    return env, result.stdout


@pytest.fixture(scope="session")
def full_settings(full_index):  # type: ignore[no-untyped-def]
    """Settings pointing at the full index (no LLM)."""
    from assistant.config import Settings

    env, _ = full_index
    return Settings(
        corpus_dir=Path(env["EUMEX_CORPUS_DIR"]), data_dir=Path(env["EUMEX_DATA_DIR"]), today=date.fromisoformat(env["EUMEX_TODAY"])
    )


@pytest.fixture(scope="session")
def assistant(full_settings):  # type: ignore[no-untyped-def]
    """The answering pipeline on the full real index, extractive (no LLM configured)."""
    from assistant.pipeline import build_pipeline

    return build_pipeline(full_settings)
