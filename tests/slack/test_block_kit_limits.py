"""Every builder stays inside Block Kit's limits at its worst inputs: a 32,000-character prompt
full of `&` (five characters each once escaped), 16 parents with long permalinks, long names.

Each payload is checked twice: by `slack_sdk.models` (Slack's typed models validate section
text, context and action counts, view titles, private_metadata) and by the local Slack's own
list of limits (`tests/fakes/block_kit.py`: context elements, buttons, options, 50 blocks),
which is what refuses them in the end-to-end tests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.domain.limits import UsageLine, UsageReport, WorkspaceUsage
from bot.domain.lineage import Lineage, LineageStep
from bot.domain.model import ImageJob, ImagesLeft, JobStatus, Place
from bot.domain.people import Requester
from bot.domain.provenance import ParentImage, Provenance
from bot.domain.requests import MAX_PROMPT_CHARS, ImageOptions, OptionDefaults, Prompt
from bot.domain.sources import EditSource
from bot.errors import InputRejected
from bot.slack import replies
from bot.slack.block_kit import message
from bot.slack.edit_dialog import edit_modal
from bot.slack.help_messages import first_meeting, help_message
from bot.slack.home_view import home_view
from bot.slack.lineage_view import lineage_message
from bot.slack.mrkdwn import excerpt, fit
from bot.slack.provenance_note import provenance_note
from bot.slack.request_message import request_message
from bot.slack.usage_messages import usage_message, workspace_message
from tests.fakes.block_kit import message_problems, view_problems

WORST = "&" * MAX_PROMPT_CHARS
WHEN = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LONG_LINK = "https://easel-test.slack.com/archives/C0GENERAL/p1700000000000001?thread_ts=1700000000.000001&cid=" + (
    "C" * 120
)
REQUESTER = Requester("T1", "U0" + "X" * 20)


def valid_message(payload: dict[str, Any]) -> None:
    for block in Block.parse_all(payload["blocks"]):
        block.validate_json()
    assert message_problems(payload["blocks"]) == []


def valid_view(view: dict[str, Any]) -> None:
    View(**view).validate_json()
    assert view_problems(view) == []


def worst_provenance() -> Provenance:
    return Provenance(
        requester=REQUESTER,
        model="gpt-image-1-mini",
        prompt=WORST,
        size="1024x1024",
        quality="high",
        output_format="png",
        requested_at=WHEN,
        sha256="0" * 64,
        position=4,
        of=4,
        number=9999,
        parents=tuple(
            ParentImage(
                number=n, user_id="U0" + "Y" * 20, origin="attached", credentials="&" * 500, permalink=LONG_LINK
            )
            for n in range(1, 17)
        ),
        region="a1,b1,c1,a2,b2,c2,a3,b3,c3",
        remote_check="checked by the provider " + "&" * 500,
    )


@pytest.mark.parametrize("status", list(JobStatus))
def test_the_request_message_fits_with_the_longest_prompt(status: JobStatus) -> None:
    prompt = Prompt(WORST, ImageOptions(size="1024x1024", quality="high", n=4), version=9999)
    place = Place(conversation="C" * 20)
    edit = ImageJob(
        id=10**12, requester=REQUESTER, prompt=prompt, place=place, requested_at=WHEN, edit=EditSource(file_ids=("F1",))
    )
    valid_message(request_message(edit, status, model="m" * 200))
    generate = ImageJob(id=1, requester=REQUESTER, prompt=prompt, place=place, requested_at=WHEN)
    valid_message(
        request_message(generate, status, model="m", deleted=replies.images_deleted(REQUESTER.user_id, at=WHEN))
    )


def test_the_note_fits_with_sixteen_parents_and_the_longest_prompt() -> None:
    note = provenance_note(worst_provenance(), allowance=ImagesLeft(left=10**9, allowed="&" * 400), cost_micros=10**9)
    valid_message({"blocks": note})
    first = note[0]["elements"][0]["text"]
    assert "more" in first and f"<{LONG_LINK}|#1>" in first, "the first parents link, the rest are counted"
    assert "&amp;amp;" not in str(note) and "&amp;&amp;" in str(note), "escaped exactly once"


def test_the_note_lists_every_parent_when_they_fit() -> None:
    parents = tuple(ParentImage(number=n, user_id="U1", origin="generated") for n in range(1, 17))
    note = provenance_note(Provenance(**{**worst_provenance().__dict__, "parents": parents}))
    assert "#16 by" in note[0]["elements"][0]["text"] and "more" not in note[0]["elements"][0]["text"]


def test_the_provenance_chain_fits_with_long_prompts() -> None:
    steps = tuple(
        LineageStep(
            number=n,
            origin="generated",
            user_id=REQUESTER.user_id,
            prompt=WORST,
            model="gpt-image-1-mini",
            created_at=WHEN,
            parents=tuple(range(1, n)),
            c2pa="intact; claims to be signed by OpenAI (not verified) " + "&" * 200,
            permalink=LONG_LINK,
            file_id=f"F{n:08d}",
            mime_type="image/png",
            deleted=False,
        )
        for n in range(1, 30)
    )
    for lineages in ([Lineage(steps=steps, truncated=True)] * 2, [Lineage(steps=steps, truncated=False)] * 4):
        message = lineage_message(lineages)
        valid_message(message)
        assert message_problems(message["blocks"]) == []


def test_an_error_quoting_a_whole_prompt_fits() -> None:
    text = replies.for_error(InputRejected(f"unknown option `--{WORST}`", fragment=f"--{WORST}"))
    valid_message(message(text))
    assert "&amp;amp;" not in text


def test_the_messages_without_person_text_fit() -> None:
    report = UsageReport(
        lines=tuple(UsageLine(name=f"limit {n}", used="9" * 10, allowed="9" * 10, resets_at=WHEN) for n in range(6)),
        exempt=True,
        paused=True,
        images_left_today=0,
    )
    valid_message(help_message(OptionDefaults(), quiet_prefix="//"))
    valid_message(usage_message(report, user_id=REQUESTER.user_id))
    users = tuple((f"U{n:010d}", 10**6, 10**12) for n in range(500))
    valid_message(
        workspace_message(
            WorkspaceUsage(micros_today=10**12, allowed_micros_today=10**12, paused=True, users_this_month=users)
        )
    )
    valid_message(first_meeting(quiet_prefix="//"))
    valid_message(message(replies.strikes_alert(REQUESTER, strikes=99, channel="C" * 20)))


def test_the_home_tab_and_the_edit_dialog_fit() -> None:
    from bot.storage.tables import ImageRow

    report = UsageReport(lines=(), exempt=False, paused=False, images_left_today=None)
    recent = [
        (
            ImageRow(
                channel_id="C1",
                thread_ts="1.0",
                number=n,
                origin="generated",
                user_id="U1",
                slack_file_id=f"F{n}",
                permalink=LONG_LINK,
                mime_type="image/png",
            ),
            WORST,
        )
        for n in range(12)
    ]
    valid_view(home_view(report, recent, user_id="U1", defaults=OptionDefaults()))
    images = [row for row, _ in recent[:10]]
    metadata = '{"channel": "C0GENERAL", "thread": "1700000000.000001"}'
    valid_view(edit_modal(images, chosen=[1, 2], quality="high", defaults=OptionDefaults(), metadata=metadata))


def test_cutting_after_escaping_never_splits_an_entity_or_a_token() -> None:
    assert excerpt("a & b", 6) == "a…" and excerpt("a & b", 9) == "a &amp; b"
    assert fit("x <@U123456> y", 8) == "x…" and fit("&amp;&amp;", 7) == "&amp;…"
    link = "<https://x.slack.com/archives/C1/p1?thread_ts=1&cid=C1|#3>"  # a permalink's raw `&`
    assert fit(f"{link} and more", len(link) + 3) == f"{link} a…", "a whole link is kept"
    assert fit(f"{link} &amp;", len(link) + 5) == f"{link}…", "an entity after it is still not split"
    assert len(excerpt(WORST, 3000)) <= 3000 and excerpt(WORST, 3000).endswith("&amp;…")
