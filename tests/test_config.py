"""Settings: every variable read, bad values named, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Secret, Settings, load_settings


def test_defaults_from_an_empty_environment() -> None:
    settings = Settings.from_environ({})
    assert settings.slack_api_url == "https://slack.com/api/"
    assert (settings.model_id, settings.default_size, settings.default_quality) == (
        "gpt-image-2.5-flare",
        "1024x1024",
        "medium",
    )
    assert settings.image_model is None, "the default is the provider's, not a setting"
    assert settings.database_url == "sqlite:///easel.db" and settings.quiet_prefix == "//"
    assert not settings.uses_azure and settings.limits.images_per_day == 50
    assert settings.c2pa_remote_manifest_hosts == (), "remote manifests are never fetched unless hosts are named"


def test_the_default_model_is_the_providers() -> None:
    """OpenAI shuts gpt-image-1-mini down on 2026-12-01; Azure keeps its deployments to 2027-04-07."""
    assert Settings(openai_api_key=Secret("sk")).model_id == "gpt-image-2.5-flare"
    azure = Settings(azure_openai_endpoint="https://r.openai.azure.com")
    assert azure.model_id == "gpt-image-1-mini" and azure.provider_model == "gpt-image-1-mini"
    assert Settings(image_model="gpt-image-2.6-sunburst").model_id == "gpt-image-2.6-sunburst"


def test_every_variable_is_read() -> None:
    settings = Settings.from_environ(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_APP_TOKEN": "xapp-1",
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": "https://slack-gov.com/api",
            "PORT": "8080",
            "OPENAI_API_KEY": "sk-1",
            "OPENAI_BASE_URL": "http://proxy/v1",
            "AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com",
            "AZURE_OPENAI_API_KEY": "az",
            "AZURE_OPENAI_DEPLOYMENT": "images",
            "OPENAI_API_VERSION": "2025-06-01",
            "IMAGE_MODEL": "gpt-image-1",
            "IMAGE_MODEL_FALLBACK": "gpt-image-1-mini",
            "IMAGE_DEFAULT_SIZE": "portrait",
            "IMAGE_DEFAULT_QUALITY": "HIGH",
            "IMAGE_TIMEOUT_SECONDS": "60",
            "IMAGE_MAX_ATTEMPTS": "5",
            "IMAGE_MAX_RETRY_AFTER_SECONDS": "10",
            "DATABASE_URL": "postgresql://db/easel",
            "LOG_LEVEL": "debug",
            "QUIET_PREFIX": "!!",
            "SLACK_FILE_HOSTS": "files.example.com",
            "LIMIT_USER_IMAGES_PER_DAY": "7",
            "LIMIT_USER_USD_PER_MONTH": "2.5",
            "LIMIT_USER_CONCURRENT_JOBS": "3",
            "LIMIT_USER_REQUESTS_PER_MINUTE": "4",
            "LIMIT_WORKSPACE_USD_PER_DAY": "9",
            "LIMIT_USER_STRIKES_PER_DAY": "1",
            "LIMITS_TIMEZONE": "Europe/Berlin",
            "ALLOWED_CHANNELS": "C1, C2",
            "ADMIN_USER_IDS": "U1",
            "SHUTDOWN_GRACE_SECONDS": "5",
            "C2PA_REMOTE_MANIFEST_HOSTS": "Manifests.example.com, cdn.example.com:8443",
            "C2PA_READ_TIMEOUT_SECONDS": "2.5",
        }
    )
    assert settings.slack_api_url == "https://slack-gov.com/api/" and settings.port == 8080
    assert settings.uses_azure and settings.provider_model == "images"
    assert settings.default_size == "1024x1536" and settings.default_quality == "high"
    assert (settings.image_timeout_seconds, settings.image_max_attempts) == (60, 5)
    assert settings.log_level == "DEBUG" and settings.quiet_prefix == "!!"
    assert settings.slack_file_hosts == ("files.example.com",)
    limits = settings.limits
    assert (limits.images_per_day, limits.usd_per_month, limits.concurrent_jobs) == (7, 2.5, 3)
    assert (limits.requests_per_minute, limits.workspace_usd_per_day, limits.strikes_per_day) == (4, 9, 1)
    assert limits.timezone == "Europe/Berlin" and limits.allowed_channels == {"C1", "C2"}
    assert settings.admin_user_ids == {"U1"} and settings.shutdown_grace_seconds == 5
    assert settings.c2pa_remote_manifest_hosts == ("manifests.example.com", "cdn.example.com:8443")
    assert settings.c2pa_read_timeout_seconds == 2.5


def test_a_trust_list_must_be_a_readable_pem_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="C2PA_TRUST_ANCHORS"):
        Settings.from_environ({"C2PA_TRUST_ANCHORS": str(tmp_path / "missing.pem")})
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("hello")
    with pytest.raises(ConfigError, match="no PEM certificate"):
        Settings.from_environ({"C2PA_TRUST_ANCHORS": str(not_pem)})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IMAGE_DEFAULT_QUALITY", "ultra"),
        ("IMAGE_DEFAULT_SIZE", "huge"),
        ("PORT", "abc"),
        ("IMAGE_TIMEOUT_SECONDS", "0"),
        ("LIMITS_TIMEZONE", "Mars/Olympus"),
        ("LOG_LEVEL", "loud"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as bad:
        Settings.from_environ({name: value})
    assert name in str(bad.value)


def test_secrets_never_show() -> None:
    settings = Settings.from_environ({"SLACK_BOT_TOKEN": "xoxb-hunter2", "OPENAI_API_KEY": "sk-hunter2"})
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
    assert settings.slack_bot_token is not None and settings.slack_bot_token.reveal() == "xoxb-hunter2"


def test_missing_tokens_are_named() -> None:
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        Settings.from_environ({}).require_slack()
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        Settings.from_environ({"SLACK_BOT_TOKEN": "x"}).require_slack()
    Settings.from_environ({"SLACK_BOT_TOKEN": "x", "SLACK_SIGNING_SECRET": "s"}).require_slack()
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        Settings.from_environ({}).require_provider()
    Settings.from_environ({"AZURE_OPENAI_ENDPOINT": "https://r"}).require_provider()  # Entra ID


def test_the_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("IMAGE_MODEL=from-file\nQUIET_PREFIX=##\n")
    monkeypatch.setenv("IMAGE_MODEL", "from-environment")
    monkeypatch.delenv("QUIET_PREFIX", raising=False)
    settings = load_settings(env_file)
    assert settings.image_model == "from-environment" and settings.quiet_prefix == "##"
