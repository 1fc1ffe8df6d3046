"""The Provenance view: the chain as pictures of the files already in Slack, newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.domain.lineage import Lineage, LineageStep
from bot.slack.lineage_view import MOST_STEPS, lineage_message
from tests.fakes.block_kit import message_problems

WHEN = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def step(number: int, **overrides: Any) -> LineageStep:
    values: dict[str, Any] = {
        "number": number,
        "origin": "generated",
        "user_id": "U1",
        "prompt": f"step {number}",
        "model": "gpt-image-1-mini",
        "created_at": WHEN,
        "parents": (number - 1,) if number > 1 else (),
        "c2pa": "intact; claims to be signed by OpenAI (not verified)",
        "permalink": f"https://slack.test/files/F{number}",
        "file_id": f"F{number}",
        "mime_type": "image/png",
        "deleted": False,
    }
    values.update(overrides)
    return LineageStep(**values)


def images_in(block: dict[str, Any]) -> list[str]:
    elements = [*(block.get("elements") or []), block.get("accessory") or {}]
    return [element["slack_file"]["id"] for element in elements if element.get("type") == "image"]


def test_the_chain_is_a_row_of_its_pictures_newest_first_then_one_section_per_step() -> None:
    chain = Lineage(steps=(step(3), step(2, origin="attached", prompt=None, parents=()), step(1)), truncated=False)
    message = lineage_message([chain])
    row, *sections = message["blocks"][1:-1]
    assert row["type"] == "context" and images_in(row) == ["F3", "F2", "F1"]
    assert row["elements"][-1]["text"] == "#3 ← #2 ← #1"
    assert [images_in(section) for section in sections] == [["F3"], ["F2"], ["F1"]]
    texts = [section["text"]["text"] for section in sections]
    assert "edited from #2 for <@U1>" in texts[0] and "> step 3" in texts[0] and "C2PA: intact;" in texts[0]
    assert "shared by <@U1>" in texts[1]
    assert message_problems(message["blocks"]) == []


def test_files_slack_cannot_show_are_named_not_pictured() -> None:
    chain = Lineage(steps=(step(2, mime_type="image/webp"), step(1, deleted=True)), truncated=False)
    message = lineage_message([chain])
    assert not any(images_in(block) for block in message["blocks"]), "no row, no accessory"
    texts = [block["text"]["text"] for block in message["blocks"][1:] if block["type"] == "section"]
    assert "no preview" in texts[0] and "deleted from Slack" in texts[1]


def test_a_long_chain_shows_its_latest_steps_and_links_the_rest() -> None:
    chain = Lineage(steps=tuple(step(n) for n in range(40, 0, -1)), truncated=True)
    message = lineage_message([chain])
    sections = [block for block in message["blocks"][1:] if block["type"] == "section"]
    assert len(sections) == MOST_STEPS and "#40" in sections[0]["text"]["text"]
    earlier = message["blocks"][-2]["elements"][0]["text"]
    assert earlier.startswith("Earlier steps: <https://slack.test/files/F20|#20>") and "|#1>" in earlier
    assert earlier.endswith("and older ones not shown")
    assert len(message["blocks"][1]["elements"]) == 10, "nine pictures and a caption"
    assert message_problems(message["blocks"]) == []


def test_credentials_from_certificates_are_escaped() -> None:
    chain = Lineage(steps=(step(1, c2pa="intact; claims to be signed by <!channel> (not verified)"),), truncated=False)
    text = str(lineage_message([chain]))
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
