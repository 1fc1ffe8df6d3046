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
        # channel shared with other organisations nobody else can be talking to Easel.
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


def event_serves(body: dict[str, Any]) -> bool:
    """Whether the person who wrote the event's message is one of ours."""
    event = body.get("event") or {}
    person = event.get("user_team") or event.get("team")
    return of_event(body).serves(person, shared_channel=bool(body.get("is_ext_shared_channel")))


def of_interaction(body: dict[str, Any]) -> Installation:
    """The installation a click or a dialog was delivered to. A dialog opened from a channel
    another organisation hosts names it in `view.app_installed_team_id`."""
    view = body.get("view") or {}
    team = body.get("team") or {}
    enterprise = body.get("enterprise") or {}
    return Installation(
        team_id=str(view.get("app_installed_team_id") or team.get("id") or body["user"].get("team_id", "")),
        enterprise_id=enterprise.get("id") if isinstance(enterprise, dict) else None,
        org_wide=str(body.get("is_enterprise_install", "")).lower() == "true",
    )


def interaction_serves(body: dict[str, Any]) -> bool:
    """Whether the person who clicked (or submitted) is one of ours."""
    installation = of_interaction(body)
    # A click does not say whether its channel is shared with another organisation, so an
    # organisation-wide installation serves only its own workspace's and organisation's ids.
    return installation.serves(body["user"].get("team_id"), shared_channel=True)
