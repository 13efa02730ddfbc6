"""The compose file is valid and every service's command exists (checked without a Docker engine)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support import run_cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_services_and_volumes(compose: dict) -> None:
    assert {"chroma", "ingest", "api"} <= set(compose["services"])
    assert compose["services"]["api"]["depends_on"]["ingest"]["condition"] == "service_completed_successfully"
    for name in ("chroma", "ingest", "api"):
        env = compose["services"][name]["environment"]
        assert env["CHROMA_HOST"] == "chroma"  # the same code path as `chroma run` in the tests


def _commands(compose: dict) -> list[list[str]]:
    out = []
    for service in compose["services"].values():
        command = service.get("command")
        if not command:
            continue
        if command[:2] == ["sh", "-c"]:
            out += [part.split() for part in command[2].split("&&")]
        else:
            out.append(command)
    return out


def test_every_eumex_command_exists(compose: dict, tmp_path: Path) -> None:
    from tests.support import cli_env

    commands = [c for c in _commands(compose) if c[0] == "eumex"]
    assert len(commands) >= 3
    for command in commands:
        sub = [w for w in command[1:] if not w.startswith("-")][:2]
        sub = sub[:1] if sub[:1] != ["corpus"] else sub
        result = run_cli([*sub, "--help"], cli_env(tmp_path, tmp_path / "data"))
        assert result.returncode == 0, f"`eumex {' '.join(sub)}` is not a command: {result.stderr}"
        for option in [w for w in command[1:] if w.startswith("--")]:
            assert option in result.stdout, f"`eumex {' '.join(sub)}` has no option {option}"


def test_chroma_command_is_shipped(compose: dict) -> None:
    import shutil
    import sys

    (chroma,) = [c for c in _commands(compose) if c[0] == "chroma"]
    assert chroma[1] == "run" and shutil.which("chroma", path=str(Path(sys.executable).parent))


def test_dockerfile_runs_as_non_root_with_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "USER eumex" in text and "HEALTHCHECK" in text and "/healthz" in text
