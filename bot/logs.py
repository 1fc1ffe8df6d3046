"""Log lines: plain text for a terminal, or one JSON object per line (`LOG_FORMAT=json`) for
a log collector, each carrying the context of the work it describes (job, request, reference
shown to the user, workspace, a hash of the user id, model, duration).

Context comes from `context()` / `bind()` (contextvars: each request and each job runs in its
own task) or from a call's `extra`. Whatever the format and level, the secrets Easel was given
are replaced before a line is written, and so is anything shaped like a Slack token.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config import Secret, Settings

# Slack tokens (xoxb-, xoxp-, xapp-, …) and bearer credentials, whoever logs them.
TOKEN_SHAPES = re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]+|(?<=Bearer )[^\s'\"]+")
REDACTED = "[redacted]"
# The attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

_context: ContextVar[MappingProxyType[str, object]] = ContextVar("easel_log_context", default=MappingProxyType({}))


@contextmanager
def context(**fields: object) -> Iterator[None]:
    """Log lines written inside carry `fields` (None values are left out)."""
    token = _context.set(_merged(fields))
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: object) -> None:
    """Log lines written from here to the end of the current task carry `fields`."""
    _context.set(_merged(fields))


def user_hash(user_id: str) -> str:
    """Tells one person's lines from another's without naming them."""
    return hashlib.sha256(user_id.encode()).hexdigest()[:12]


def configure(settings: Settings) -> None:
    """Send every log line to standard error, in the chosen format, with secrets removed."""
    handler = logging.StreamHandler(sys.stderr)
    secrets = _secrets(settings)
    handler.setFormatter(JsonFormatter(secrets) if settings.log_format == "json" else TextFormatter(secrets))
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    # The HTTP client libraries log request lines at INFO, Alembic its set-up; keep them for DEBUG runs.
    for noisy in ("httpx2", "openai", "slack_sdk", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(settings.log_level), logging.WARNING))


class _Redacting(logging.Formatter):
    def __init__(self, secrets: Iterable[str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        # Longest first, so that a secret containing another is replaced whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, line: str) -> str:
        for secret in self._secrets:
            line = line.replace(secret, REDACTED)
        return TOKEN_SHAPES.sub(REDACTED, line)

    @staticmethod
    def fields(record: logging.LogRecord) -> dict[str, Any]:
        """The context of the line: the task's, then the call's own `extra`."""
        extra = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES and not k.startswith("_")}
        return {**_context.get(), **extra}


class TextFormatter(_Redacting):
    """`time LEVEL logger: message [job_id=7 workspace=T1 …]`, for people reading a terminal."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__(secrets, "%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = self.fields(record)
        if fields:
            head, newline, rest = line.partition("\n")  # after the message, before a traceback
            line = head + " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]" + newline + rest
        return self.redact(line)


class JsonFormatter(_Redacting):
    """One JSON object per line: time, level, logger, message, context, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **self.fields(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return self.redact(json.dumps(entry, ensure_ascii=False, default=str))


def _merged(fields: dict[str, object]) -> MappingProxyType[str, object]:
    return MappingProxyType({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


def _secrets(settings: Settings) -> list[str]:
    found = [value.reveal() for value in vars(settings).values() if isinstance(value, Secret)]
    try:
        password = make_url(settings.database_url).password
    except ArgumentError:
        password = None  # not a URL: the database names the problem at start-up
    if password:
        found.append(str(password))
    return found
