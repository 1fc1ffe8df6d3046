"""A model's coming shutdown reaches admins: in the log at start-up and on their Home tab,
from 30 days before. The day is pinned (`lifecycle_date`), never the wall clock's."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import date

import pytest

from bot.config import Settings
from tests.conftest import eventually, start_bot, stop_bot
from tests.fakes.fake_slack import FakeSlack


def on(settings: Settings, day: date, model: str = "gpt-image-1-mini") -> Settings:
    return dataclasses.replace(settings, image_model=model, lifecycle_date=day, admin_user_ids=frozenset({"U0ALICE"}))


async def home_of(slack: FakeSlack, user: str) -> str:
    seen = len(slack.views)
    await slack.wait_for_ack(await slack.send_envelope("events_api", slack.app_home_opened_event(user=user)))
    await eventually(lambda: len(slack.views) > seen, what=f"{user}'s home tab")
    return json.dumps(slack.views[-1]["view"])


async def test_admins_see_a_shutdown_on_their_home_tab_from_30_days_before(
    settings: Settings, slack: FakeSlack
) -> None:
    bot = await start_bot(on(settings, date(2026, 11, 15)), slack)
    try:
        alice, bob = await home_of(slack, "U0ALICE"), await home_of(slack, "U0BOB")
    finally:
        await stop_bot(bot)
    assert "For admins" in alice and "shuts down on 2026-12-01 (in 16 days)" in alice
    assert "gpt-image-2.6-flare" in alice and "IMAGE_MODEL" in alice
    assert "For admins" not in bob, "only admins are told"


@pytest.mark.parametrize(
    ("day", "model"),
    [(date(2026, 10, 31), "gpt-image-1-mini"), (date(2027, 6, 1), "gpt-image-2.5-flare")],
    ids=["31 days before", "a current model"],
)
async def test_no_warning_before_30_days_or_for_a_current_model(
    settings: Settings, slack: FakeSlack, day: date, model: str
) -> None:
    bot = await start_bot(on(settings, day, model), slack)
    try:
        assert "For admins" not in await home_of(slack, "U0ALICE")
    finally:
        await stop_bot(bot)


async def test_start_up_names_the_model_and_warns_of_its_shutdown(
    settings: Settings, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.wiring"):
        await stop_bot(await start_bot(on(settings, date(2026, 11, 30)), slack))
        await stop_bot(await start_bot(dataclasses.replace(settings, lifecycle_date=date(2026, 11, 30)), slack))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("gpt-image-1-mini` is deprecated on openai" in w and "(tomorrow)" in w for w in warnings)
    assert any("image model gpt-image-2.5-flare, from the openai default (IMAGE_MODEL is not set)" in i for i in infos)
    assert len(warnings) == 1, "the current default warns of nothing"
