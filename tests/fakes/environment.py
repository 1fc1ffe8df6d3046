"""The environment of a real `python -m bot` process that talks only to the local servers."""

from __future__ import annotations

import os

from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack

# Limits high enough that none refuses a benchmark's burst.
UNLIMITED = {
    "LIMIT_USER_IMAGES_PER_DAY": "100000",
    "LIMIT_USER_USD_PER_MONTH": "100000",
    "LIMIT_USER_CONCURRENT_JOBS": "100000",
    "LIMIT_USER_REQUESTS_PER_MINUTE": "100000",
    "LIMIT_WORKSPACE_USD_PER_DAY": "100000",
}


def bot_environment(
    slack: FakeSlack, images: FakeImagesAPI, *, database_url: str, socket_mode: bool = True, **settings: str
) -> dict[str, str]:
    """Socket Mode unless `socket_mode` is off (then pass `SLACK_SIGNING_SECRET` for HTTP
    mode); `settings` are further variables, as the bot reads them."""
    environment = {
        "PATH": os.environ["PATH"],
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_API_URL": slack.api_url,
        "OPENAI_API_KEY": images.api_key,
        "OPENAI_BASE_URL": images.base_url,
        "DATABASE_URL": database_url,
    }
    if socket_mode:
        environment["SLACK_APP_TOKEN"] = slack.app_token
    return {**environment, **settings}
