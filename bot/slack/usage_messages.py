"""Usage against each limit, for a person (`/imagine usage`, the Home tab) and for the
workspace (`/imagine admin usage`)."""

from __future__ import annotations

from typing import Any

from bot.domain.limits import UsageReport, WorkspaceUsage
from bot.domain.pricing import usd
from bot.slack.block_kit import message
from bot.slack.mrkdwn import slack_date


def usage_message(report: UsageReport, *, user_id: str, heading: str = "Usage") -> dict[str, Any]:
    lines = [f"*{heading} for <@{user_id}>*" + (" (exempt from per-user limits)" if report.exempt else "")]
    if report.paused:
        lines.append(":double_vertical_bar: paused for the rest of the day after requests the safety system blocked")
    for line in report.lines:
        resets = f", resets {slack_date(line.resets_at)}" if line.resets_at else ""
        lines.append(f"• {line.name}: {line.used} of {line.allowed}{resets}")
    return message("\n".join(lines))


def workspace_message(usage: WorkspaceUsage) -> dict[str, Any]:
    lines = [
        "*Workspace usage*" + (" · :double_vertical_bar: paused" if usage.paused else ""),
        f"• spend today: {usd(usage.micros_today)} of {usd(usage.allowed_micros_today)}",
        "*This month, by user*" if usage.users_this_month else "No images this month yet.",
    ]
    lines += [f"• <@{user}>: {images} images, {usd(micros)}" for user, images, micros in usage.users_this_month[:20]]
    return message("\n".join(lines))
