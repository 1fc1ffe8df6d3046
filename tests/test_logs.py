"""Log lines: JSON or text, with the context of the work, and never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot import logs
from bot.config import Secret, Settings

SETTINGS = Settings(
    slack_bot_token=Secret("xoxb-1111-secret"),
    slack_app_token=Secret("xapp-1-A0-2222-secret"),
    openai_api_key=Secret("sk-proj-3333secret"),
    database_url="postgresql://easel:db-pass-4444@db.internal/easel",
)


@pytest.fixture
def captured(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """The root logger writing to a buffer, configured as `python -m bot` configures it."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure(Settings(**{**vars(SETTINGS), "log_format": request.param}))
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    yield buffer
    root.handlers[:], root.level = saved[0], saved[1]


@pytest.mark.parametrize("captured", ["json", "text"], indirect=True)
def test_secrets_are_replaced_wherever_they_appear(captured: io.StringIO) -> None:
    log = logging.getLogger("easel.test")
    log.warning("token %s and key %s", "xoxb-1111-secret", SETTINGS.openai_api_key.reveal())  # type: ignore[union-attr]
    log.warning("a token Easel was not given: xoxp-9999-other, header Bearer abc.def")
    try:
        raise RuntimeError("could not connect to postgresql://easel:db-pass-4444@db.internal/easel")
    except RuntimeError:
        log.exception("database down, app token xapp-1-A0-2222-secret")
    written = captured.getvalue()
    for secret in ("1111-secret", "2222-secret", "3333secret", "db-pass-4444", "xoxp-9999", "abc.def"):
        assert secret not in written
    assert written.count(logs.REDACTED) >= 6


@pytest.mark.parametrize("captured", ["json"], indirect=True)
def test_a_json_line_carries_its_context(captured: io.StringIO) -> None:
    log = logging.getLogger("easel.test")
    with logs.context(job_id=7, workspace="T1", user=logs.user_hash("U1"), model=None):
        log.info("job %s done", 7, extra={"duration": 1.5})
    log.info("outside")
    first, second = (json.loads(line) for line in captured.getvalue().splitlines())
    assert first["message"] == "job 7 done" and first["level"] == "INFO" and first["logger"] == "easel.test"
    assert (first["job_id"], first["workspace"], first["duration"]) == (7, "T1", 1.5)
    assert first["user"] == logs.user_hash("U1") != "U1" and "model" not in first
    assert "job_id" not in second, "context ends with its block"


@pytest.mark.parametrize("captured", ["text"], indirect=True)
def test_a_text_line_ends_with_its_context(captured: io.StringIO) -> None:
    with logs.context(job_id=7):
        logging.getLogger("easel.test").info("job done")
    assert captured.getvalue().rstrip().endswith("INFO easel.test: job done [job_id=7]")
