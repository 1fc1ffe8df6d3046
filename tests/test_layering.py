"""Dependencies point one way: slack/ → domain/ → providers/, storage/.

Only `bot.slack` (and the top-level wiring modules) may import slack_bolt or slack_sdk; the
domain knows nothing of Slack, nor of table rows; providers know nothing of the domain, and
storage knows only its data (`bot.domain.model`), which it maps its rows to; the Slack edge
never reaches storage but through the domain.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"
SLACK_LIBRARIES = ("slack_bolt", "slack_sdk")
# Top-level modules that start the process and connect the layers.
ENTRY_POINTS = {"__main__", "app", "runtime", "check", "local"}

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "slack": ("bot.storage",),  # the edge reaches the data through the domain
    "domain": ("bot.slack", *SLACK_LIBRARIES, "bot.app", "bot.wiring", "bot.runtime", "bot.storage.tables"),
    "providers": ("bot.slack", "bot.domain", "bot.storage", *SLACK_LIBRARIES, "bot.wiring"),
    "storage": ("bot.slack", "bot.domain", "bot.providers", *SLACK_LIBRARIES, "bot.wiring"),
}
# What a layer may import although a prefix above forbids it.
ALLOWED: dict[str, tuple[str, ...]] = {"storage": ("bot.domain.model",)}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules() -> list[Path]:
    return sorted(BOT.rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(BOT)))
def test_module_respects_the_layers(path: Path) -> None:
    parts = path.relative_to(BOT).parts
    layer = parts[0] if len(parts) > 1 else None
    imported = imports_of(path)
    if layer in FORBIDDEN:
        bad = {name for name in imported if name.startswith(FORBIDDEN[layer]) and name not in ALLOWED.get(layer, ())}
        assert not bad, f"{path.name} in {layer}/ imports {sorted(bad)}"
    if layer != "slack" and path.stem not in ENTRY_POINTS:
        bad = {name for name in imported if name.startswith(SLACK_LIBRARIES)}
        assert not bad, f"{path.relative_to(BOT)} imports Slack libraries {sorted(bad)}: only bot/slack/ may"


def test_the_walk_sees_every_layer() -> None:
    layers = {p.relative_to(BOT).parts[0] for p in modules() if len(p.relative_to(BOT).parts) > 1}
    assert {"slack", "domain", "providers", "storage"} <= layers


MAX_LINES = 400  # past this a module holds more than one concern: split it by what it is about


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(BOT)))
def test_no_module_is_longer_than_a_reader_can_hold(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(BOT)} has {lines} lines (at most {MAX_LINES}): split it by concern"
