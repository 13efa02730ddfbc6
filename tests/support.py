"""Helpers shared by the integration tests: small manifests, the CLI in a subprocess, a Chroma server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path

import httpx

from ingestion.corpus import sha256_of
from assistant.manifest import Document

EUMEX = [sys.executable, "-m", "bots.cli"]
TODAY = date(2026, 12, 7)  # answers about open calls are checked as of this day, whatever the calendar says


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # JSON strings are valid TOML basic strings


def write_manifest(path: Path, documents: Sequence[Document]) -> Path:
    """Write a manifest TOML for these documents."""
    lines = ["schema_version = 1", ""]
    for doc in documents:
        lines.append("[[document]]")
        for key, value in asdict(doc).items():
            if value is None or value == () or value == "":
                continue
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def local_copy(doc: Document, source_dir: Path, corpus_dir: Path) -> Document:
    """Copy a real corpus file into a test corpus directory and return its manifest entry."""
    target = corpus_dir / doc.path
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source_dir / doc.path, target)
    return doc


def generated_document(doc_id: str, path: str, corpus_dir: Path, **fields: object) -> Document:
    """A manifest entry for a file the test generated in corpus_dir."""
    file = corpus_dir / path
    base = Document(
        id=doc_id,
        path=path,
        title=f"Test document {doc_id}",
        programme="h2020",
        kind="guidance",
        language="en",
        period="2020",
        url=None,
        parser="pdf",
        sha256=sha256_of(file) if file.is_file() else "0" * 64,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def cli_env(corpus_dir: Path, data_dir: Path, manifest: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EUMEX_", "CHROMA_"))}
    env.update({"EUMEX_CORPUS_DIR": str(corpus_dir), "EUMEX_DATA_DIR": str(data_dir), "EUMEX_LOG_LEVEL": "WARNING",
                "EUMEX_TODAY": TODAY.isoformat()})
    if manifest is not None:
        env["EUMEX_MANIFEST"] = str(manifest)
    env.update(extra)
    return env


def run_cli(args: Sequence[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `eumex ARGS` in a fresh process, as a user would."""
    return subprocess.run(
        [*EUMEX, *args], env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def chroma_server(path: Path) -> Iterator[tuple[str, int]]:
    """Start `chroma run` on 127.0.0.1 and stop it afterwards."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert chroma, "the `chroma` command (chromadb package) is not installed"
    port = free_port()
    log = path.parent / f"chroma-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [chroma, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
            yield "127.0.0.1", port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
