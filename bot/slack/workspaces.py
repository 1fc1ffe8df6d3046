"""Whose request is it: the workspace that installed Easel, and whether the person belongs to it.

In a channel shared with another organisation (Slack Connect) the outer `team_id` of an event
is the workspace that hosts the channel, not the one that installed Easel. The installing
workspace is `authorizations[0].team_id` (with its organisation in `enterprise_id`), and the
person's own team is `event.user_team`, which on Enterprise Grid can be an organisation id
`E…` (https://docs.slack.dev/apis/slack-connect, "What to expect"; the Events API's
`authorizations` field, https://docs.slack.dev/apis/events-api; Bolt reads the same fields
for `context.team_id` and `context.actor_team_id` in `slack_bolt/request/internals.py`).
Usage and limits count under the installing workspace; people of other organisations are
declined, since their requests would spend this workspace's allowance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack.decoding import DisplayNames


@dataclass(frozen=True)
class Installation:
    """The workspace (and organisation, on Enterprise Grid) that installed Easel."""

    team_id: str
    enterprise_id: str | None = None
    org_wide: bool = False

    def serves(self, person_team: str | None, *, shared_channel: bool = False) -> bool:
        """Whether a person of `person_team` is one of ours. No team given: they are."""
        if not person_team or person_team == self.team_id:
            return True
        if self.enterprise_id and person_team == self.enterprise_id:
            return True  # a Grid organisation id stands for all of its workspaces
        # Installed for the whole organisation: every workspace of it is ours, and outside a
        # channel shared with other organisations nobody else can be talking to Easel. Inside
        # one, `Membership` asks Slack.
        return self.org_wide and not shared_channel


def of_event(body: dict[str, Any]) -> Installation:
    """The installation an Events API payload was delivered to: `authorizations[0]`, never the
    outer `team_id` and `enterprise_id`, which in a shared channel are the host's (as Bolt's
    `extract_enterprise_id` does); a payload without `authorizations` has only the outer ones."""
    authorization = (body.get("authorizations") or [body])[0]
    return Installation(
        team_id=str(authorization.get("team_id") or ""),
        enterprise_id=authorization.get("enterprise_id"),
        org_wide=bool(authorization.get("is_enterprise_install")),
    )


def installed_as(identity: AsyncSlackResponse) -> Installation:
    """The installation Easel's token belongs to, from `auth.test` at start."""
    return Installation(
        team_id=str(identity.get("team_id") or ""),
        enterprise_id=identity.get("enterprise_id") or None,
        org_wide=bool(identity.get("is_enterprise_install")),
    )


def of_interaction(body: dict[str, Any], installed: Installation) -> Installation:
    """The installation a click or a dialog was delivered to. A dialog opened from a channel
    another organisation hosts names it in `view.app_installed_team_id`. An organisation-wide
    installation belongs to no one workspace and Slack says `"team": null` (Bolt's
    `extract_team_id` notes it): the clicker's own `user.team_id` is no sign of whose it is,
    so it is the organisation's, known by the workspace Easel knows itself by."""
    view = body.get("view") or {}
    team = body.get("team")
    enterprise = body.get("enterprise")
    return Installation(
        team_id=str(view.get("app_installed_team_id") or (team or {}).get("id") or installed.team_id),
        enterprise_id=(enterprise.get("id") if isinstance(enterprise, dict) else None) or installed.enterprise_id,
        org_wide=team is None or str(body.get("is_enterprise_install", "")).lower() == "true",
    )


class Membership:
    """Whether the person of a payload is one of ours.

    The payload says so for the installing workspace and organisation. On an
    organisation-wide installation a person of a sister workspace shows only that workspace's
    id, which in a channel shared with other organisations (and in a click, which does not say
    where it was) could as well be a visitor's; then Slack is asked which organisation the
    person belongs to (`users.info`'s `enterprise_user`, remembered with their name)."""

    def __init__(self, installed: Installation, people: DisplayNames) -> None:
        self.installed = installed
        self._people = people

    async def event_serves(self, body: dict[str, Any]) -> bool:
        """Whether the person who wrote the event's message is one of ours."""
        event = body.get("event") or {}
        team = event.get("user_team") or event.get("team")
        shared = bool(body.get("is_ext_shared_channel"))
        return await self._serves(of_event(body), str(event.get("user") or ""), team, shared=shared)

    async def interaction_serves(self, body: dict[str, Any]) -> bool:
        """Whether the person who clicked (or submitted) is one of ours."""
        user = body["user"]
        return await self._serves(
            of_interaction(body, self.installed), str(user.get("id") or ""), user.get("team_id"), shared=True
        )

    async def _serves(self, installation: Installation, user: str, team: str | None, *, shared: bool) -> bool:
        if installation.serves(team, shared_channel=shared):
            return True
        if not (installation.org_wide and installation.enterprise_id and user):
            return False
        return await self._people.organisation(user) == installation.enterprise_id
