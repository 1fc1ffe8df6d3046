"""`python -m bot` as a real process: start-up errors, `check`, `generate`, and a full run
that answers /imagine and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.storage import schema
from tests.conftest import eventually
from tests.e2e.test_http_mode import free_port
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack

pytestmark = pytest.mark.slow  # each test starts `python -m bot` as a process


def environment(tmp_path: Path, **values: str) -> dict[str, str]:
    """A clean environment: nothing of the developer's own tokens leaks in."""
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/e.db", **values}


def fake_environment(tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI) -> dict[str, str]:
    return environment(
        tmp_path,
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_APP_TOKEN=slack.app_token,
        SLACK_API_URL=slack.api_url,
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=images.base_url,
    )


async def run_bot(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_missing_token_stops_start_up_with_one_line(tmp_path: Path) -> None:
    code, _out, err = await run_bot(tmp_path, environment(tmp_path, OPENAI_API_KEY="sk-test"))
    assert code == 2
    assert err.strip().splitlines() == [err.strip()] and "SLACK_BOT_TOKEN" in err
    assert "Traceback" not in err


def closed_port_url(path: str) -> tuple[str, int]:
    """A URL on which nothing listens (the connection is refused at once), and its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}", port


@pytest.mark.parametrize(
    ("setting", "path", "line"),
    [
        (
            "SLACK_API_URL",
            "/api/",
            "could not reach Slack's Web API at {url} (SLACK_API_URL): cannot connect to {host}",
        ),
        ("OPENAI_BASE_URL", "/v1", "could not reach the image service (openai) at {url} (OPENAI_BASE_URL)"),
    ],
)
async def test_an_unreachable_service_stops_start_up_with_one_line(
    tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI, setting: str, path: str, line: str
) -> None:
    url, port = closed_port_url(path)
    env = {**fake_environment(tmp_path, slack, images), setting: url, "LOG_LEVEL": "ERROR"}
    code, _out, err = await run_bot(tmp_path, env)
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines() == ["easel: " + line.format(url=url, host=f"127.0.0.1:{port}")]


async def test_a_missing_model_key_is_named(tmp_path: Path) -> None:
    env = environment(tmp_path, SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1")
    code, _, err = await run_bot(tmp_path, env)
    assert code == 2 and "OPENAI_API_KEY" in err and "Traceback" not in err


async def test_a_bad_setting_is_named(tmp_path: Path) -> None:
    env = environment(tmp_path, SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1", IMAGE_DEFAULT_QUALITY="ultra")
    code, _, err = await run_bot(tmp_path, env)
    assert code == 2 and "IMAGE_DEFAULT_QUALITY" in err


async def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_APP_TOKEN=xapp-from-file\n")
    code, _, err = await run_bot(tmp_path, environment(tmp_path))
    assert code == 2 and "OPENAI_API_KEY" in err, "the tokens came from .env; only the model key is missing"


async def test_db_upgrade_and_current_need_no_tokens(tmp_path: Path) -> None:
    head, env = schema.head(), environment(tmp_path)
    assert await run_bot(tmp_path, env, "db", "current") == (0, f"none (this Easel needs {head})\n", "")
    code, out, err = await run_bot(tmp_path, env, "db", "upgrade")
    assert (code, out) == (0, f"{head} (up to date)\n"), err
    assert f"upgrading the database from revision none to {head}" in err
    assert await run_bot(tmp_path, env, "db", "current") == (0, f"{head} (up to date)\n", "")


async def test_a_database_that_does_not_answer_is_named_in_one_line(tmp_path: Path) -> None:
    env = {**environment(tmp_path), "DATABASE_URL": f"postgresql://easel@127.0.0.1:{free_port()}/easel"}
    code, _, err = await run_bot(tmp_path, env, "db", "upgrade")
    assert code == 2 and "Traceback" not in err
    assert err.startswith("easel: the database at DATABASE_URL does not answer: ") and "refused" in err


async def test_with_upgrades_off_the_bot_names_the_command_to_run(
    tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    env = {**fake_environment(tmp_path, slack, images), "DATABASE_UPGRADE_ON_START": "off"}
    code, _, err = await run_bot(tmp_path, env)
    assert code == 2 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.endswith("run `python -m bot db upgrade` (or leave DATABASE_UPGRADE_ON_START on)")


async def test_ready_asks_the_running_bot(tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI) -> None:
    env = {**fake_environment(tmp_path, slack, images), "METRICS_PORT": str(free_port())}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await slack.wait_connected(timeout=30)
        answers = [await run_bot(tmp_path, env, "ready")]
        while answers[-1][0] != 0 and len(answers) < 20:  # the worker may start a moment after the connection
            await asyncio.sleep(0.25)
            answers.append(await run_bot(tmp_path, env, "ready"))
        assert answers[-1] == (0, "ready\n", ""), answers
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), timeout=30)
    code, out, _ = await run_bot(tmp_path, env, "ready")
    assert code == 1 and out.startswith("nothing answers on port"), "stopped: not ready"


async def test_check_reports_every_part_working(tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI) -> None:
    code, out, _ = await run_bot(tmp_path, fake_environment(tmp_path, slack, images), "check")
    assert code == 0, out
    lines = out.strip().splitlines()
    assert all(line.startswith("✓") for line in lines) and len(lines) == 5, out
    assert "IMAGE_MODEL is not set: using `gpt-image-2.5-flare`" in out and "is current on openai" in out
    assert slack.calls_to("auth.test") and slack.calls_to("apps.connections.open")


async def test_check_names_what_is_wrong(tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI) -> None:
    env = {
        **fake_environment(tmp_path, slack, images),
        "SLACK_BOT_TOKEN": "xoxb-wrong",
        "IMAGE_MODEL": "gpt-image-1-mini",
    }
    code, out, _ = await run_bot(tmp_path, env, "check")
    assert code == 1
    assert "✗ Slack: SLACK_BOT_TOKEN was refused (invalid_auth)" in out
    assert "✗ Images" in out and "IMAGE_MODEL" in out


async def test_generate_writes_the_api_bytes(tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI) -> None:
    env = fake_environment(tmp_path, slack, images)
    code, out, err = await run_bot(tmp_path, env, "generate", "a lighthouse", "-o", "out.png", "--size", "landscape")
    assert code == 0, err
    assert (tmp_path / "out.png").read_bytes() == images.outputs[0]
    assert images.requests[0].fields["size"] == "1536x1024"
    assert "sha256" in out


def rows(tmp_path: Path, query: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(tmp_path / "e.db")) as database:
        return database.execute(query).fetchall()


async def test_generate_is_recorded_and_charged_to_the_command_line_requester(
    tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    env = fake_environment(tmp_path, slack, images)
    code, _, err = await run_bot(tmp_path, env, "generate", "a lighthouse", "-o", "out.png", "--as", "ada")
    assert code == 0, err
    assert rows(tmp_path, "SELECT team_id, user_id, channel_id, status FROM jobs") == [
        ("local", "ada", "local", "done")
    ]
    job_id = rows(tmp_path, "SELECT id FROM jobs")[0][0]
    charges = rows(tmp_path, "SELECT team_id, user_id, job_id, status, images FROM ledger")
    assert charges == [("local", "ada", job_id, "settled", 1)]


async def test_generate_over_the_daily_image_limit_is_refused_in_words_and_makes_nothing(
    tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    env = {**fake_environment(tmp_path, slack, images), "LIMIT_USER_IMAGES_PER_DAY": "2"}
    code, _, err = await run_bot(tmp_path, env, "generate", "a lighthouse", "-o", "first.png", "--as", "ada")
    assert code == 0, err
    code, _, err = await run_bot(tmp_path, env, "generate", "two boats", "-o", "more.png", "--n", "2", "--as", "ada")
    assert code == 1 and "Traceback" not in err
    assert err.startswith("That would go over your limit for images today: 1 used of 2. It resets 20"), err
    assert "UTC. Nothing was generated or charged." in err and "<!date" not in err, "plain words in a terminal"
    assert len(images.requests) == 1
    written = await asyncio.to_thread(lambda: sorted(path.name for path in tmp_path.glob("*.png")))
    assert written == ["first.png"]
    assert rows(tmp_path, "SELECT status, error FROM jobs ORDER BY id") == [("done", None), ("failed", "LimitReached")]
    assert rows(tmp_path, "SELECT status FROM ledger") == [("settled",)], "the refused run reserved nothing"
    code, _, err = await run_bot(tmp_path, env, "generate", "a boat", "-o", "other.png", "--as", "grace")
    assert code == 0, "the limit is ada's own: another requester still has room"


async def test_generate_reports_a_bad_flag(tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI) -> None:
    env = fake_environment(tmp_path, slack, images)
    code, _, err = await run_bot(tmp_path, env, "generate", "a lighthouse", "-o", "out.png", "--n", "9")
    assert code == 1 and "--n 9" in err and images.requests == []


async def test_the_bot_process_serves_and_stops_on_sigterm(
    tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=fake_environment(tmp_path, slack, images),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await slack.wait_connected(timeout=30)
        ack = await slack.slash("a lighthouse at dusk")
        assert ack.latency < 3.0
        await eventually(lambda: len(slack.files) == 1, timeout=20, what="the upload")
        assert next(iter(slack.files.values())).content == images.outputs[0]
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
