"""Slack Connect and Enterprise Grid: Easel serves the people of the workspace (or Grid
organisation) that installed it, wherever a shared channel is hosted, counts their usage there,
and declines people of other organisations."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.storage.tables import JobRow
from tests.conftest import RunningBot, eventually
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack, SharedChannel

pytestmark = pytest.mark.slow  # generated images clicked from other organisations


def declined(slack: FakeSlack) -> list[str]:
    """Whom Easel told it serves another workspace."""
    return [e["user"] for e in slack.ephemerals if "visiting from another one" in e.get("text", "")]


def jobs(bot: RunningBot) -> list[JobRow]:
    with Session(bot.database()) as session:
        return list(session.exec(select(JobRow)))


async def test_a_member_is_served_in_a_channel_another_organisation_hosts(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    event = await slack.say("@Easel a lighthouse", shared=SharedChannel(host_team="T0HOST"))
    await eventually(lambda: len(slack.files) == 1, what="the image")
    assert next(iter(slack.files.values())).thread_ts == event["ts"]
    [job] = jobs(bot)
    assert (job.team_id, job.user_id) == (slack.team_id, "U0ALICE"), "usage counts where Easel is installed"


async def test_a_person_of_another_organisation_is_declined(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    slack.add_person("U0GUEST", "guest", team="T0OTHER")
    await slack.say("@Easel a lighthouse", user="U0GUEST", shared=SharedChannel(host_team="T0OTHER"))
    await eventually(lambda: len(slack.ephemerals) == 1, what="the answer")
    assert slack.ephemerals[0]["user"] == "U0GUEST" and "visiting from another one" in slack.ephemerals[0]["text"]
    assert images.requests == [] and jobs(bot) == []


async def test_an_enterprise_grid_organisation_id_is_one_of_ours(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """On Grid, `user_team` can be the organisation's `E…` id rather than a workspace's."""
    slack.enterprise_id = "E0ORG"
    slack.add_person("U0GRID", "grid", team="E0ORG")
    slack.add_person("U0STRANGER", "stranger", team="E0ELSEWHERE")
    await slack.say("@Easel a lighthouse", user="U0GRID", shared=SharedChannel(host_team="T0HOST"))
    await eventually(lambda: len(slack.files) == 1, what="the image")
    assert [(job.team_id, job.user_id) for job in jobs(bot)] == [(slack.team_id, "U0GRID")]

    await slack.say("@Easel a lighthouse", user="U0STRANGER", shared=SharedChannel(host_team="T0HOST"))
    await eventually(lambda: len(slack.ephemerals) == 1, what="the refusal")
    assert len(images.requests) == 1


async def test_an_organisation_wide_install_serves_every_workspace_of_it_wherever_hosted(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """In a channel shared with other organisations a workspace id alone does not say whose it
    is: Slack is asked which organisation the person belongs to, once."""
    slack.enterprise_id, slack.org_wide = "E0ORG", True
    slack.add_person("U0SISTER", "sister", team="T0SISTER", enterprise="E0ORG")
    slack.add_person("U0VISITOR", "visitor", team="T0OTHER")
    await slack.say("@Easel a lighthouse", user="U0SISTER")
    await eventually(lambda: len(slack.files) == 1, what="the image")
    for made in (2, 3):
        await slack.say("@Easel a lighthouse", user="U0SISTER", shared=SharedChannel(host_team="T0HOST"))
        await eventually(lambda: len(slack.files) == made, what="the image in the shared channel")  # noqa: B023
    assert [call.params["user"] for call in slack.calls_to("users.info")].count("U0SISTER") == 1

    await slack.say("@Easel a lighthouse", user="U0VISITOR", shared=SharedChannel(host_team="T0HOST"))
    await eventually(lambda: len(declined(slack)) == 1, what="the refusal of another organisation's person")
    assert declined(slack) == ["U0VISITOR"] and len(images.requests) == 3
    assert {job.team_id for job in jobs(bot)} == {slack.team_id}


async def test_on_an_organisation_wide_install_a_click_is_judged_by_the_organisation(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """Such an installation's clicks say `"team": null`: the clicker's own team is no sign of
    whose installation it is. A visitor's click is declined; a sister workspace's counts here."""
    slack.enterprise_id, slack.org_wide = "E0ORG", True
    slack.add_person("U0SISTER", "sister", team="T0SISTER", enterprise="E0ORG")
    slack.add_person("U0VISITOR", "visitor", team="T0OTHER")
    asked = await slack.say("@Easel a lighthouse", shared=SharedChannel(host_team="T0HOST"))
    await eventually(lambda: len(slack.files) == 1, what="the image")
    status = next(m for m in slack.messages if m.thread_ts == asked["ts"] and m.user == slack.bot_user_id)
    await eventually(lambda: "follow_up_regenerate" in str(status.blocks), what="the buttons")
    [value] = [
        element["value"]
        for block in status.blocks or []
        for element in block.get("elements", [])
        if element.get("action_id") == "follow_up_regenerate"
    ]
    visit = slack.block_action("follow_up_regenerate", value, user="U0VISITOR", message_ts=status.ts)
    assert visit["team"] is None
    await slack.wait_for_ack(await slack.send_envelope("interactive", visit))
    await eventually(lambda: len(slack.responses) == 1, what="the refusal")
    assert "members of the workspace that installed it" in slack.responses[0]["text"]

    sister = slack.block_action("follow_up_regenerate", value, user="U0SISTER", message_ts=status.ts)
    await slack.wait_for_ack(await slack.send_envelope("interactive", sister))
    await eventually(lambda: len(images.requests) == 2, what="the sister workspace's regeneration")
    assert sorted((job.team_id, job.user_id) for job in jobs(bot)) == [
        (slack.team_id, "U0ALICE"),
        (slack.team_id, "U0SISTER"),
    ], "usage counts under the installation, never the clicker's own team"


async def test_a_visitor_from_the_grid_organisation_hosting_the_channel_is_declined(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """The outer `enterprise_id` is the host's organisation, not ours: Easel (installed outside
    any Grid organisation) does not count a person of the host's organisation as its own."""
    slack.add_person("U0HOSTED", "hosted", team="E0HOST")
    await slack.say("@Easel a lighthouse", user="U0HOSTED", shared=SharedChannel("T0HOST", host_enterprise="E0HOST"))
    await eventually(lambda: len(slack.ephemerals) == 1, what="the refusal")
    assert slack.ephemerals[0]["user"] == "U0HOSTED" and images.requests == [] and jobs(bot) == []
