"""The Dockerfile, checked without a Docker engine: its COPY and RUN steps are replayed in a
fresh virtual environment, the image's command starts (and stops with one line, since
no tokens are set), and the installed package carries its migrations."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    steps = []
    for line in DOCKERFILE.replace("\\\n", " ").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            steps.append((keyword.upper(), rest.strip()))
    return steps


def test_the_image_is_slim_non_root_and_runs_the_bot() -> None:
    steps = instructions()
    assert steps[0][0] == "FROM" and steps[0][1].endswith("-slim")
    users = [value for keyword, value in steps if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert steps[-1] == ("CMD", '["python", "-m", "bot"]')
    healthchecks = [value for keyword, value in steps if keyword == "HEALTHCHECK"]
    assert healthchecks and healthchecks[-1].endswith('CMD ["python", "-m", "bot", "ready"]')


@pytest.mark.slow  # a fresh virtual environment and a full install
def test_the_build_steps_install_a_bot_that_starts(tmp_path: Path) -> None:
    context = tmp_path / "app"
    context.mkdir()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    for keyword, value in instructions():
        if keyword == "COPY":
            *sources, _ = shlex.split(value)
            for source in sources:
                target = context / source
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy(ROOT / source, target)
        elif keyword == "RUN" and value.startswith("pip install"):
            args = shlex.split(value)[2:]
            result = subprocess.run(
                [str(python), "-m", "pip", "install", "-q", *args],
                cwd=context,
                capture_output=True,
                text=True,
                timeout=900,
            )
            assert result.returncode == 0, result.stderr[-3000:]
    workdir = tmp_path / "home"
    workdir.mkdir()
    started = subprocess.run(
        [str(python), "-m", "bot"],
        cwd=workdir,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 2, started.stderr
    assert started.stderr.strip() == "easel: SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)"
    upgraded = subprocess.run(
        [str(python), "-m", "bot", "db", "upgrade"],
        cwd=workdir,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgraded.returncode == 0 and upgraded.stdout.endswith("(up to date)\n"), upgraded.stderr
    where = subprocess.run(
        [str(python), "-c", "import bot.storage.schema as s; print(s.MIGRATIONS)"],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    assert "/site-packages/bot/" in where.stdout, "the migrations came from the installed package, not the checkout"
    probe = subprocess.run(
        [str(python), "-m", "bot", "ready"], cwd=workdir, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True
    )
    assert probe.returncode == 1 and probe.stdout.startswith("nothing answers on port"), "no bot runs here"
