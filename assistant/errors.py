"""Exceptions of EUMEX Assistant.

Every error that reaches a user is one of these, with a message that says what happened and
how to fix it. Channels translate them into user messages in one place each (CLI, HTTP, bot).

    EumexError
    ├── ConfigError          wrong or missing setting
    ├── CorpusError          manifest problems, missing / corrupt corpus files
    │   └── ChecksumMismatch
    ├── ParseError           one document could not be read (bad PDF, bad spreadsheet)
    ├── EmbeddingError       embedding backend failed
    ├── IndexNotReady        no index yet: run `eumex ingest`
    ├── StoreError           Chroma / catalog unavailable
    ├── QuestionError        empty or oversized question
    ├── LLMError             the optional LLM endpoint failed
    └── WorkStopped          an answer's work was stopped (assistant/limits.py)
        ├── WorkCancelled    its client went away
        └── DeadlineExceeded it ran past its deadline
"""

from __future__ import annotations


class EumexError(Exception):
    """Base class: the message is meant for a person."""


class ConfigError(EumexError):
    """A setting is wrong or missing."""


class CorpusError(EumexError):
    """The manifest or a corpus file is wrong."""


class ChecksumMismatch(CorpusError):
    """A file's sha256 differs from the manifest."""


class ParseError(EumexError):
    """A document could not be parsed."""

    def __init__(self, document: str, reason: str) -> None:
        super().__init__(f"{document}: {reason}")
        self.document = document
        self.reason = reason


class EmbeddingError(EumexError):
    """The embedding backend failed."""


class IndexNotReady(EumexError):
    """The index has not been built yet."""


class StoreError(EumexError):
    """The vector store or the catalog cannot be used."""


class QuestionError(EumexError):
    """The question cannot be answered as asked (empty, too long)."""


class LLMError(EumexError):
    """The configured LLM endpoint failed."""


class WorkStopped(EumexError):
    """An answer's work was stopped before it finished (see assistant/limits.py)."""


class WorkCancelled(WorkStopped):
    """The client that asked went away: nobody waits for the answer any more."""


class DeadlineExceeded(WorkStopped):
    """The answer ran past its deadline (EUMEX_ANSWER_DEADLINE_S)."""
