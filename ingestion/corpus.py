"""Corpus files on disk: status against the manifest, and fetching them safely."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from assistant.errors import ChecksumMismatch, CorpusError
from assistant.manifest import Document, Manifest

log = logging.getLogger(__name__)

PRESENT, MISSING, MISMATCH, NOT_AVAILABLE = "present", "missing", "checksum mismatch", "not available"


def sha256_of(path: Path) -> str:
    """Hash a file in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileStatus:
    document: Document
    status: str
    detail: str = ""


def corpus_status(manifest: Manifest, corpus_dir: Path) -> Iterator[FileStatus]:
    """Yield the state of every manifest entry in the corpus directory."""
    for doc in manifest.documents:
        if not doc.present:
            yield FileStatus(doc, NOT_AVAILABLE, doc.url or "")
            continue
        path = corpus_dir / doc.path
        if not path.is_file():
            yield FileStatus(doc, MISSING, str(path))
            continue
        actual = sha256_of(path)
        if actual != doc.sha256:
            yield FileStatus(doc, MISMATCH, f"expected {doc.sha256[:12]}…, found {actual[:12]}…")
        else:
            yield FileStatus(doc, PRESENT)


def _atomic_copy(fill: callable, target: Path, expected_sha: str | None, name: str) -> None:  # type: ignore[valid-type]
    """Write through a temp file in the target directory, verify, then rename into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            fill(out)
            out.flush()
            os.fsync(out.fileno())
        if expected_sha is not None:
            actual = sha256_of(tmp)
            if actual != expected_sha:
                raise ChecksumMismatch(
                    f"{name}: sha256 {actual[:12]}… does not match the manifest ({expected_sha[:12]}…); "
                    "the source copy is different from the one the manifest describes"
                )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def fetch_document(doc: Document, corpus_dir: Path, mirror: Path | None, timeout: float = 60.0) -> str:
    """Put one document into the corpus directory; return how ("kept", "copied", "downloaded")."""
    target = corpus_dir / doc.path
    if target.is_file() and sha256_of(target) == doc.sha256:
        return "kept"
    if mirror is not None:
        source = mirror / doc.path
        if not source.is_file():
            raise CorpusError(f"{doc.path}: not found in the mirror {mirror}")

        def copy(out):  # type: ignore[no-untyped-def]
            with source.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)

        _atomic_copy(copy, target, doc.sha256, doc.path)
        return "copied"
    urls = [u for u in (doc.mirror_url, doc.url) if u]
    if not urls:
        raise CorpusError(f"{doc.path}: no mirror directory and no URL - set EUMEX_CORPUS_MIRROR")
    errors = []
    for url in urls:
        try:

            def download(out, url=url):  # type: ignore[no-untyped-def]
                with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as resp:
                    resp.raise_for_status()
                    for block in resp.iter_bytes(1 << 16):
                        out.write(block)

            _atomic_copy(download, target, doc.sha256, doc.path)
            return "downloaded"
        except (httpx.HTTPError, ChecksumMismatch) as exc:
            errors.append(f"{url}: {exc}")
    raise CorpusError(f"{doc.path}: could not download - " + "; ".join(errors))


def fetch_corpus(
    manifest: Manifest, corpus_dir: Path, mirror: Path | None
) -> Iterator[tuple[Document, str, str]]:
    """Fetch every present document; yield (document, outcome, detail). Failures do not stop the rest."""
    if mirror is not None and not mirror.is_dir():
        raise CorpusError(f"EUMEX_CORPUS_MIRROR={mirror} is not a directory")
    if mirror is not None and mirror.resolve() == corpus_dir.resolve():
        for status in corpus_status(manifest, corpus_dir):
            if status.document.present:
                yield status.document, "kept" if status.status == PRESENT else "failed", status.status
        return
    for doc in manifest.present:
        try:
            yield doc, fetch_document(doc, corpus_dir, mirror), ""
        except CorpusError as exc:
            yield doc, "failed", str(exc)
