"""The layers of docs/architecture.md, enforced: a test that fails when someone adds an upward import."""

from __future__ import annotations

import grimp
from importlinter.cli import lint_imports

from assistant.config import PROJECT_ROOT

# What a channel (bots/) may import from the core: the façade, its composition root, the data types,
# and settings, errors, the manifest and language detection. Everything else is the core's business.
CHANNEL_API = {
    "assistant.answer",
    "assistant.pipeline",
    "assistant.types",
    "assistant.config",
    "assistant.errors",
    "assistant.manifest",
    "assistant.language",
    "assistant.limits",  # a request's deadline and stop flag, set by the channel that knows its client
}


def test_import_contracts_hold() -> None:
    """pyproject.toml's import-linter contracts: the core imports no channel, job, evaluation or framework."""
    assert lint_imports(config_filename=str(PROJECT_ROOT / "pyproject.toml"), no_cache=True) == 0


def test_channels_import_only_the_core_api() -> None:
    graph = grimp.build_graph("assistant", "bots")
    reaching_in = sorted(
        (importer, imported)
        for importer in graph.find_children("bots") | graph.find_descendants("bots")
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported.startswith("assistant.") and imported not in CHANNEL_API
    )
    assert reaching_in == [], "channels reach into the core's internals (use the Assistant façade): " + ", ".join(
        f"{a} -> {b}" for a, b in reaching_in
    )


def test_the_checks_catch_an_upward_import(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The contract would fail on a core module that imports a channel (checked on a copy, not the tree)."""
    import shutil
    import subprocess
    import sys

    for package in ("assistant", "bots", "ingestion", "evals"):
        shutil.copytree(PROJECT_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "assistant" / "answer.py").open("a", encoding="utf-8") as fh:
        fh.write("\nfrom bots.cli import main  # noqa: E402\n")
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
         "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True))"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )
    assert result.returncode != 0, result.stdout
    assert "assistant.answer -> bots.cli" in result.stdout, result.stdout
