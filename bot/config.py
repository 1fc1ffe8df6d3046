"""Settings: the only reader of the environment.

Built once at start-up (`load_settings`) and passed down; tests build `Settings` directly.
Secrets are wrapped in `Secret` so that no repr, log line or traceback shows them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.domain.catalog import DEFAULT_MODELS
from bot.domain.model_specs import parse_ratio, parse_size
from bot.errors import ConfigError

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_AZURE_API_VERSION = "2025-04-01-preview"
# Hosts that may receive the bot token for file downloads, besides SLACK_API_URL's host.
DEFAULT_SLACK_FILE_HOSTS = ("files.slack.com", "files-edu.slack.com", "files.slack-gov.com")
Quality = Literal["low", "medium", "high", "xhigh", "max"]
QUALITIES: tuple[Quality, ...] = ("low", "medium", "high", "xhigh", "max")  # the model in use may take fewer


class Secret:
    """A string that never shows itself in a repr or a log."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, kw_only=True)
class LimitSettings:
    """Per-user and per-workspace limits (README: "Limits")."""

    images_per_day: int = 50
    usd_per_month: float = 10.0
    concurrent_jobs: int = 2
    requests_per_minute: int = 6
    workspace_usd_per_day: float = 50.0
    strikes_per_day: int = 3
    timezone: str = "UTC"
    allowed_channels: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class JobSettings:
    """How this process works through the shared job queue."""

    concurrency: int = 100  # jobs one process runs at once: they wait on the model, memory is the bound
    lease_seconds: float = 15.0  # a job whose worker fell silent this long is taken up again (renewed every third)
    max_attempts: int = 5  # deliveries Slack refuses are tried this often before the job fails
    images_per_minute: int | None = None  # every replica together stays under this; None: no budget
    poll_seconds: float = 1.0  # how often to look for jobs other replicas queued
    retry_seconds: float = 5.0  # the first wait before a failed delivery is tried again (then doubling)
    post_seconds: float = 600.0  # how long a request's message is tried before its requester is told


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything Easel reads from its environment, typed and validated."""

    slack_bot_token: Secret | None = None
    slack_app_token: Secret | None = None
    slack_signing_secret: Secret | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    slack_rate_limit_wait_seconds: float = 120.0  # one call waits out Slack's 429s this long at most
    port: int = 3000

    openai_api_key: Secret | None = None
    openai_base_url: str | None = None
    azure_openai_endpoint: str | None = None
    azure_openai_api_key: Secret | None = None
    azure_openai_deployment: str | None = None
    openai_api_version: str = DEFAULT_AZURE_API_VERSION

    image_model: str | None = None  # None: the provider's default (see `model_id`)
    image_model_fallback: str | None = None
    default_size: str = "1024x1024"
    default_quality: Quality = "medium"
    image_timeout_seconds: float = 300.0
    image_max_attempts: int = 3
    image_max_retry_after_seconds: float = 60.0
    preview_partial_images: int = 0  # previews shown while a single image renders (0-3)
    image_streaming: bool = False  # single images come as a stream (the connection stays busy while they render)

    limits: LimitSettings = LimitSettings()
    admin_user_ids: frozenset[str] = frozenset()

    quiet_prefix: str = "//"
    slack_file_hosts: tuple[str, ...] = DEFAULT_SLACK_FILE_HOSTS

    provenance_remote_check: bool = False
    c2pa_trust_anchors: str | None = field(default=None, repr=False)  # PEM text from C2PA_TRUST_ANCHORS
    c2pa_remote_manifest_hosts: tuple[str, ...] = ()  # hosts remote manifests may come from; none: never fetched
    c2pa_read_timeout_seconds: float = 10.0
    shutdown_grace_seconds: float = 30.0
    jobs: JobSettings = JobSettings()
    database_url: str = "sqlite:///easel.db"
    database_upgrade_on_start: bool = True  # off: operators run `python -m bot db upgrade` themselves
    log_level: str = "INFO"
    log_format: str = "text"  # "json": one JSON object per line, for a log collector
    metrics_port: int | None = None  # Socket Mode: serve /metrics, /healthz and /readyz here
    # The day model lifecycles are judged on; None: today's UTC date. Not read from the
    # environment: tests pin it, so that no outcome depends on the wall clock.
    lifecycle_date: date | None = None

    @property
    def uses_azure(self) -> bool:
        return self.azure_openai_endpoint is not None

    def today(self) -> date:
        """The day model lifecycles are judged on (see `lifecycle_date`)."""
        return self.lifecycle_date or datetime.now(UTC).date()

    @property
    def provider_name(self) -> str:
        return "azure" if self.uses_azure else "openai"

    @property
    def model_id(self) -> str:
        """IMAGE_MODEL, or the catalog's default for the provider when it is not set."""
        return self.image_model or DEFAULT_MODELS[self.provider_name]

    @property
    def provider_model(self) -> str:
        """The name the provider knows the primary model by (Azure: the deployment)."""
        if self.uses_azure and self.azure_openai_deployment:
            return self.azure_openai_deployment
        return self.model_id

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> Settings:
        """Parse and validate; a bad value raises `ConfigError` naming the variable."""

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def switch(name: str, *, default: bool = False) -> bool:
            value = text(name)
            return default if value is None else value.lower() in ("1", "true", "yes", "on")

        def secret(name: str) -> Secret | None:
            value = text(name)
            return Secret(value) if value else None

        def number(name: str, default: float, *, minimum: float) -> float:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(f"{name} must be a number, got {raw!r}") from None
            if value < minimum:
                raise ConfigError(f"{name} must be at least {minimum:g}, got {raw!r}")
            return value

        def pem_file(name: str) -> str | None:
            path = text(name)
            if path is None:
                return None
            try:
                pem = Path(path).read_text()
            except OSError as error:
                raise ConfigError(f"{name} names {path!r}, which cannot be read ({error.strerror})") from None
            if "-----BEGIN CERTIFICATE-----" not in pem:
                raise ConfigError(f"{name} names {path!r}, which holds no PEM certificate")
            return pem

        def ids(name: str) -> frozenset[str]:
            return frozenset(part.strip() for part in (text(name) or "").split(",") if part.strip())

        def hosts(name: str, default: str) -> tuple[str, ...]:
            return tuple(host.strip().lower() for host in (text(name) or default).split(",") if host.strip())

        def choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
            value = (text(name) or default).lower()
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
            return value

        quality = choice("IMAGE_DEFAULT_QUALITY", "medium", QUALITIES)
        timezone = text("LIMITS_TIMEZONE") or "UTC"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"LIMITS_TIMEZONE must be a time zone such as Europe/Berlin, got {timezone!r}") from None
        limits = LimitSettings(
            images_per_day=int(number("LIMIT_USER_IMAGES_PER_DAY", 50, minimum=0)),
            usd_per_month=number("LIMIT_USER_USD_PER_MONTH", 10.0, minimum=0),
            concurrent_jobs=int(number("LIMIT_USER_CONCURRENT_JOBS", 2, minimum=1)),
            requests_per_minute=int(number("LIMIT_USER_REQUESTS_PER_MINUTE", 6, minimum=1)),
            workspace_usd_per_day=number("LIMIT_WORKSPACE_USD_PER_DAY", 50.0, minimum=0),
            strikes_per_day=int(number("LIMIT_USER_STRIKES_PER_DAY", 3, minimum=1)),
            timezone=timezone,
            allowed_channels=ids("ALLOWED_CHANNELS"),
        )
        return cls(
            slack_bot_token=secret("SLACK_BOT_TOKEN"),
            slack_app_token=secret("SLACK_APP_TOKEN"),
            slack_signing_secret=secret("SLACK_SIGNING_SECRET"),
            slack_api_url=_with_trailing_slash(text("SLACK_API_URL") or DEFAULT_SLACK_API_URL),
            slack_rate_limit_wait_seconds=number("SLACK_RATE_LIMIT_WAIT_SECONDS", 120.0, minimum=0),
            port=int(number("PORT", 3000, minimum=1)),
            openai_api_key=secret("OPENAI_API_KEY"),
            openai_base_url=text("OPENAI_BASE_URL"),
            azure_openai_endpoint=text("AZURE_OPENAI_ENDPOINT"),
            azure_openai_api_key=secret("AZURE_OPENAI_API_KEY"),
            azure_openai_deployment=text("AZURE_OPENAI_DEPLOYMENT"),
            openai_api_version=text("OPENAI_API_VERSION") or DEFAULT_AZURE_API_VERSION,
            image_model=text("IMAGE_MODEL"),
            image_model_fallback=text("IMAGE_MODEL_FALLBACK"),
            default_size=_size(text("IMAGE_DEFAULT_SIZE") or "1024x1024"),
            default_quality=quality,  # type: ignore[arg-type]  # checked by choice()
            image_timeout_seconds=number("IMAGE_TIMEOUT_SECONDS", 300.0, minimum=1),
            image_max_attempts=int(number("IMAGE_MAX_ATTEMPTS", 3, minimum=1)),
            image_max_retry_after_seconds=number("IMAGE_MAX_RETRY_AFTER_SECONDS", 60.0, minimum=0),
            image_streaming=switch("IMAGE_STREAMING"),
            preview_partial_images=int(choice("PREVIEW_PARTIAL_IMAGES", "0", ("0", "1", "2", "3"))),
            limits=limits,
            admin_user_ids=ids("ADMIN_USER_IDS"),
            quiet_prefix=env.get("QUIET_PREFIX", "//").strip(),
            slack_file_hosts=hosts("SLACK_FILE_HOSTS", ",".join(DEFAULT_SLACK_FILE_HOSTS)),
            c2pa_trust_anchors=pem_file("C2PA_TRUST_ANCHORS"),
            c2pa_remote_manifest_hosts=hosts("C2PA_REMOTE_MANIFEST_HOSTS", ""),
            c2pa_read_timeout_seconds=number("C2PA_READ_TIMEOUT_SECONDS", 10.0, minimum=0.1),
            provenance_remote_check=switch("PROVENANCE_REMOTE_CHECK"),
            shutdown_grace_seconds=number("SHUTDOWN_GRACE_SECONDS", 30.0, minimum=0),
            jobs=JobSettings(
                concurrency=int(number("JOB_CONCURRENCY", 100, minimum=1)),
                lease_seconds=number("JOB_LEASE_SECONDS", 15.0, minimum=1),
                max_attempts=int(number("JOB_MAX_ATTEMPTS", 5, minimum=1)),
                images_per_minute=int(number("OPENAI_IMAGES_PER_MINUTE", 0, minimum=0)) or None,
                poll_seconds=number("JOB_POLL_SECONDS", 1.0, minimum=0.05),
                retry_seconds=number("JOB_RETRY_SECONDS", 5.0, minimum=0),
                post_seconds=number("JOB_POST_SECONDS", 600.0, minimum=0),
            ),
            database_url=text("DATABASE_URL") or "sqlite:///easel.db",
            database_upgrade_on_start=switch("DATABASE_UPGRADE_ON_START", default=True),
            log_level=choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper(),
            log_format=choice("LOG_FORMAT", "text", ("text", "json")),
            metrics_port=int(number("METRICS_PORT", 0, minimum=1)) if text("METRICS_PORT") else None,
        )

    def require_slack(self) -> None:
        """Fail with one line when the bot cannot connect to Slack."""
        if self.slack_bot_token is None:
            raise ConfigError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
        if self.slack_app_token is None and self.slack_signing_secret is None:
            raise ConfigError(
                "SLACK_APP_TOKEN is not set (the app-level token, xapp-…, for Socket Mode); "
                "set SLACK_SIGNING_SECRET instead to run in HTTP mode"
            )

    def require_provider(self) -> None:
        """Fail with one line when no image provider is configured."""
        if self.uses_azure:
            return  # a missing key means Entra ID through azure-identity
        if self.openai_api_key is None:
            raise ConfigError("OPENAI_API_KEY is not set (or set AZURE_OPENAI_ENDPOINT for Azure OpenAI)")


# The standard sizes every GPT image model makes, by shape.
SIZE_ALIASES = {"square": "1024x1024", "landscape": "1536x1024", "portrait": "1024x1536"}


def _size(value: str) -> str:
    """A shape word, `auto`, `WIDTHxHEIGHT` or a ratio; whether the model makes it is checked
    when the services are built (`bot.wiring.option_defaults`)."""
    value = value.lower()
    if value in SIZE_ALIASES:
        return SIZE_ALIASES[value]
    if value != "auto" and parse_size(value) is None and parse_ratio(value) is None:
        raise ConfigError(
            f"IMAGE_DEFAULT_SIZE must be square, portrait, landscape, auto, WIDTHxHEIGHT or a ratio, got {value!r}"
        )
    return value


def _with_trailing_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Read `.env` (if present) under the real environment, which wins."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return Settings.from_environ(merged)
