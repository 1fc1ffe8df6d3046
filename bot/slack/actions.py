"""Buttons on Easel's messages."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.slack import blocks
from bot.wiring import Services


def register(app: AsyncApp, services: Services) -> None:
    @app.action(blocks.PROVENANCE_ACTION)
    async def show_provenance(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        """The full chain behind a request's images, to whoever clicked (only they see it)."""
        await ack()
        value = str(action.get("value", ""))
        channel = str((body.get("channel") or {}).get("id", ""))
        lineages = await services.lineage.of_job(int(value), channel=channel) if value.isdigit() else []
        if not lineages:
            await respond(
                response_type="ephemeral", replace_original=False, **blocks.message(":mag: No record of that.")
            )
            return
        await respond(response_type="ephemeral", replace_original=False, **blocks.lineage_message(lineages))
