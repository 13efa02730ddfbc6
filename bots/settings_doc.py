"""Every setting, documented from the Settings class itself, so the docs cannot drift from the code.

    eumex settings --format markdown   > docs/settings.md
    eumex settings --format env        > .env.example       (both: `make docs`)

Names, types, defaults and descriptions come from ``Settings.model_fields``; the section of each setting
is the ``# --- section ---`` comment above it in ``assistant/config.py``. Secrets are always shown empty.
A few variables are read by ``docker-compose.yml`` only (ports, host paths): they are listed in
``COMPOSE_VARIABLES`` and documented in their own section.
"""

from __future__ import annotations

import inspect
import re
import textwrap
import types
import typing
from dataclasses import dataclass
from pathlib import Path

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from assistant.config import PROJECT_ROOT, Settings

GENERATED = "Generated from assistant/config.py by `make docs` (eumex settings); do not edit by hand."
SECRET_WORDS = ("token", "api_key", "password", "secret")

# Variables that only docker-compose.yml reads (interpolated there, never by the application).
COMPOSE_VARIABLES: dict[str, tuple[str, str]] = {
    "EUMEX_PORT": ("8000", "Host port the `proxy` service (nginx in front of the `api`) is published on."),
    "EUMEX_CORPUS_MIRROR_HOST": (
        "./corpus-mirror",
        "Host directory with a copy of the corpus, mounted read-only at /mirror for the `ingest` job; "
        "when it is empty the documents are downloaded from the manifest's URLs.",
    ),
}


@dataclass(frozen=True)
class SettingDoc:
    """One setting as the documentation shows it."""

    name: str  # the field name
    env: str  # the environment variable people should use
    aliases: tuple[str, ...]  # other variables accepted for it
    type: str
    default: str  # "" when unset
    description: str
    secret: bool
    required: bool
    section: str


def _env_names(name: str, field: FieldInfo) -> tuple[str, tuple[str, ...]]:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        names = [c for c in alias.choices if isinstance(c, str)]
        return names[0], tuple(names[1:])
    if isinstance(alias, str):
        return alias, ()
    return f"{prefix}{name}".upper(), ()


def _type_name(annotation: object) -> tuple[str, bool]:
    """A readable type and whether the value may be unset."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        name = " or ".join(_type_name(a)[0] for a in inner)
        return name, len(inner) < len(args)
    if typing.get_origin(annotation) is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args), False
    names = {str: "text", int: "integer", float: "number", bool: "`true`/`false`", Path: "path", SecretStr: "secret"}
    if isinstance(annotation, type) and annotation in names:
        return names[annotation], False
    return getattr(annotation, "__name__", str(annotation)), False


def _constraints(field: FieldInfo) -> str:
    """Bounds as text: "1 to 5000", "> 0", "2 to 40 characters"."""
    bounds: dict[str, object] = {}
    for m in field.metadata:
        for cls, attr in ((Ge, "ge"), (Gt, "gt"), (Le, "le"), (Lt, "lt"), (MinLen, "min_length"), (MaxLen, "max_length")):
            if isinstance(m, cls):
                bounds[attr] = getattr(m, attr)
    parts = []
    if "ge" in bounds and "le" in bounds:
        parts.append(f"{bounds.pop('ge')} to {bounds.pop('le')}")
    if "min_length" in bounds and "max_length" in bounds:
        parts.append(f"{bounds.pop('min_length')} to {bounds.pop('max_length')} characters")
    signs = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "min_length": "characters >=", "max_length": "characters <="}
    parts += [f"{signs[k]} {v}" for k, v in bounds.items()]
    return ", ".join(parts)


def _default(field: FieldInfo) -> tuple[str, bool]:
    """The default as text ("" when unset) and whether the setting is required."""
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "", True
    else:
        value = field.default
    if value is None or isinstance(value, SecretStr):
        return "", False
    if isinstance(value, bool):
        return str(value).lower(), False
    if isinstance(value, Path):
        # Paths inside the installation are shown relative to it, never as this machine's absolute path.
        return (str(value.relative_to(PROJECT_ROOT)) if value.is_absolute() and value.is_relative_to(PROJECT_ROOT)
                else str(value)), False
    return str(value), False


def _sections() -> dict[str, str]:
    """Field name -> the `# --- section ---` comment above it in the Settings class."""
    section, out = "other", {}
    for line in inspect.getsource(Settings).splitlines():
        header = re.match(r"\s*# -{3,}\s*(.+?)\s*-*\s*$", line)
        if header:
            section = header.group(1)
            continue
        field = re.match(r" {4}(\w+)\s*:", line)
        if field and field.group(1) in Settings.model_fields:
            out[field.group(1)] = section
    return out


def settings_docs() -> list[SettingDoc]:
    """Every setting of the Settings class, in source order."""
    sections = _sections()
    docs = []
    for name, field in Settings.model_fields.items():
        env, aliases = _env_names(name, field)
        type_name, optional = _type_name(field.annotation)
        limits = _constraints(field)
        default, required = _default(field)
        secret = "secret" in type_name or any(w in name for w in SECRET_WORDS)
        docs.append(
            SettingDoc(
                name=name, env=env, aliases=aliases,
                type=type_name + (f" ({limits})" if limits else "") + (", optional" if optional else ""),
                default="" if secret else default,
                description=" ".join((field.description or "").split()),
                secret=secret, required=required, section=sections.get(name, "other"),
            )
        )
    return docs


def _by_section(docs: list[SettingDoc]) -> dict[str, list[SettingDoc]]:
    grouped: dict[str, list[SettingDoc]] = {}
    for d in docs:
        grouped.setdefault(d.section, []).append(d)
    return grouped


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown() -> str:
    """The settings reference, docs/settings.md."""
    out = [
        "# Settings",
        "",
        f"<!-- {GENERATED} -->",
        "",
        "Every setting is an environment variable (a `.env` file in the working directory is read too; "
        "`.env.example` lists them all). Most have the `EUMEX_` prefix; `CHROMA_HOST`/`CHROMA_PORT` and "
        "`TELEGRAM_BOT_TOKEN` follow wider conventions. Relative paths are resolved against the working "
        "directory. Settings are validated at start-up: a wrong value stops the command with a message "
        "naming the variable.",
        "",
    ]
    for section, docs in _by_section(settings_docs()).items():
        out += [f"## {section[:1].upper() + section[1:]}", "", "| variable | type | default | meaning |",
                "|---|---|---|---|"]
        for d in docs:
            default = "required" if d.required else (f"`{d.default}`" if d.default else "unset")
            also = f" Also read as {', '.join(f'`{a}`' for a in d.aliases)}." if d.aliases else ""
            out.append(f"| `{d.env}` | {_cell(d.type)} | {_cell(default)} | {_cell(d.description)}{also} |")
        out.append("")
    out += [
        "## Docker compose only",
        "",
        "Read by `docker-compose.yml` (from `.env` or the shell), not by the application. Compose also sets "
        "`CHROMA_HOST`, `CHROMA_PORT`, `EUMEX_DATA_DIR`, `EUMEX_CORPUS_DIR` and `EUMEX_CORPUS_MIRROR` for its "
        "services itself (see `docs/deployment.md`).",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
        *(f"| `{name}` | `{default}` | {_cell(text)} |" for name, (default, text) in COMPOSE_VARIABLES.items()),
        "",
    ]
    return "\n".join(out)


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, width=106, initial_indent="# ", subsequent_indent="# ") or ["#"]


def render_env_example() -> str:
    """.env.example: every setting, commented out at its default (secrets empty)."""
    out = [
        f"# {GENERATED}",
        "# Copy to .env and uncomment what you change; docs/settings.md explains every setting.",
        "",
    ]
    for section, docs in _by_section(settings_docs()).items():
        out += [f"# --- {section} " + "-" * max(3, 100 - len(section)), ""]
        for d in docs:
            notes = [d.type]
            if d.aliases:
                notes.append("also read as " + ", ".join(d.aliases))
            out += _comment(f"{d.description} [{'; '.join(notes)}]".replace("`", ""))
            value = "" if d.secret else d.default
            out.append(f"{d.env}={value}" if d.required else f"# {d.env}={value}")
            out.append("")
    out += ["# --- docker compose only (read by docker-compose.yml) " + "-" * 50, ""]
    for name, (default, text) in COMPOSE_VARIABLES.items():
        out += _comment(text.replace("`", ""))
        out += [f"# {name}={default}", ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(render_markdown())
