"""The quick loop (`pytest -m "not slow"`) is for development only: CI runs the README's test
command, and that runs every test, slow ones included."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CI = (ROOT / ".ci" / "run").read_text()


def test_the_slow_marker_is_registered_and_markers_are_strict(pytestconfig: pytest.Config) -> None:
    assert "--strict-markers" in pytestconfig.getini("addopts"), "a misspelt marker would select nothing, silently"
    assert any(line.startswith("slow:") for line in pytestconfig.getini("markers"))


def test_ci_runs_the_readme_test_command_and_it_leaves_nothing_out() -> None:
    command = CI.strip().splitlines()[-1]
    assert command in (ROOT / "README.md").read_text(), "CI runs exactly the README's test command"
    runs = re.findall(r"-m pytest\b.*", CI)
    assert runs and not any(re.search(r"\s(-m|-k|--deselect|--ignore)\b", run) for run in runs), runs
