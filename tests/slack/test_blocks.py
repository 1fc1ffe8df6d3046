"""Block Kit builders and the words users read: pure functions, checked structurally."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.domain.catalog import spec_for
from bot.domain.credentials import ContentCredentials, Signer
from bot.domain.model import ImageJob, ImagesLeft, JobStatus, Place
from bot.domain.people import Requester
from bot.domain.provenance import ParentImage, Provenance
from bot.domain.requests import ImageOptions, OptionDefaults, Prompt
from bot.errors import (
    BotError,
    InputRejected,
    JobInterrupted,
    ModelBlocked,
    ModelRetired,
    NotDelivered,
    NotInChannel,
    OutputNotAvailable,
    ProviderAuthFailed,
    ProviderIncomplete,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)
from bot.slack import replies
from bot.slack.help_messages import help_message
from bot.slack.provenance_note import ALT_TEXT_CHARS, TITLE_CHARS, alt_text, file_title, provenance_note
from bot.slack.request_message import request_message

ALICE = Requester("T1", "U1")
WHEN = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def provenance(**overrides: object) -> Provenance:
    values: dict[str, object] = {
        "requester": ALICE,
        "model": "gpt-image-1-mini",
        "prompt": "a lighthouse",
        "size": "1024x1024",
        "quality": "medium",
        "output_format": "png",
        "requested_at": WHEN,
        "sha256": "0" * 64,
        "position": 1,
        "of": 1,
    }
    values.update(overrides)
    return Provenance(**values)  # type: ignore[arg-type]


def job_of(prompt: Prompt) -> ImageJob:
    return ImageJob(id=1, requester=ALICE, prompt=prompt, place=Place(conversation="C1"), requested_at=WHEN)


def text_of(payload: object) -> str:
    return json.dumps(payload, ensure_ascii=False)


@pytest.mark.parametrize("status", list(JobStatus))
def test_the_request_message_shows_who_what_and_how_far(status: JobStatus) -> None:
    prompt = Prompt("ping <!channel> & <http://evil|click>", ImageOptions(size="1024x1024", quality="high"))
    message = request_message(job_of(prompt), status, model="gpt-image-1-mini")
    rendered = text_of(message)
    assert message["text"] and "<@U1> asked" in rendered and status.value in rendered
    assert "<!channel>" not in rendered and "&lt;!channel&gt;" in rendered, "a prompt cannot ping or forge links"
    assert "gpt-image-1-mini" in rendered and "high" in rendered


@pytest.mark.parametrize(
    ("ahead", "shown"), [(None, "queued ·"), (0, "next in line"), (1, "1 request ahead"), (4, "4 requests ahead")]
)
def test_a_waiting_request_sees_its_place(ahead: int | None, shown: str) -> None:
    prompt = Prompt("a lighthouse", ImageOptions(size="1024x1024", quality="low"))
    message = request_message(job_of(prompt), JobStatus.QUEUED, model="gpt-image-1-mini", ahead=ahead)
    assert shown in text_of(message)


def test_the_note_names_requester_model_prompt_and_time() -> None:
    rendered = text_of(provenance_note(provenance()))
    for expected in ("<@U1>", "gpt-image-1-mini", "a lighthouse", "1024x1024", "medium", "<!date^1795"):
        assert expected in rendered
    assert "image 1 of" not in rendered


def test_the_note_of_an_edit_names_its_parents_and_what_is_left() -> None:
    note = provenance(
        number=3,
        position=2,
        of=2,
        region="a1,b2",
        parents=(
            ParentImage(number=1, user_id="U1", origin="generated"),
            ParentImage(number=2, user_id="U2", origin="attached"),
        ),
    )
    rendered = text_of(provenance_note(note, allowance=ImagesLeft(left=7, allowed="20")))
    assert "Image #3" in rendered and "edited from #1, #2 (shared by <@U2>) by <@U1>" in rendered
    assert "image 2 of 2" in rendered and "region a1,b2" in rendered and "7 of 20 images left today" in rendered


def test_names_from_certificates_are_escaped_like_typed_text() -> None:
    """Anyone can write `<!channel>` into a certificate's organisation or a manifest."""
    forged = ContentCredentials(verdict="intact", signer=Signer(name="<!channel> & co"))
    shared = ParentImage(number=1, user_id="U2", origin="attached", credentials="intact; made with <!here>")
    rendered = text_of(provenance_note(provenance(credentials=forged, parents=(shared,))))
    assert "<!channel>" not in rendered and "<!here>" not in rendered
    assert "claims to be signed by &lt;!channel&gt; &amp; co (not verified)" in rendered
    assert "made with &lt;!here&gt;" in rendered


def test_sixteen_inputs_with_long_credentials_fit_one_context_element() -> None:
    long = "intact, certificate expired; claims to be signed by OpenAI (not verified); " * 5
    parents = tuple(
        ParentImage(number=n, user_id="U2", origin="attached", credentials=long, permalink=f"https://x/{n}")
        for n in range(16)
    )
    note = provenance_note(provenance(parents=parents))
    texts = [element["text"] for element in note[0]["elements"]]
    assert all(len(text) <= 3000 for text in texts) and "#15 intact, certificate expired" in texts[-1]


def test_long_prompts_are_shortened_in_titles_and_notes() -> None:
    prompt = "word " * 400
    assert len(file_title(prompt)) <= TITLE_CHARS
    assert len(alt_text(prompt)) <= ALT_TEXT_CHARS
    assert "…" in text_of(provenance_note(provenance(prompt=prompt)))


def test_help_names_every_option_and_the_grid() -> None:
    rendered = help_message(OptionDefaults(), quiet_prefix="//")["text"]
    for expected in ("--size", "--aspect", "--quality", "--n", "--transparent", "--format", "--region", "a1,b2", "#2"):
        assert expected in rendered
    assert "`//`" in rendered


@pytest.mark.parametrize(
    ("model", "offered", "not_offered"),
    [
        ("gpt-image-1-mini", ["low, medium, high;", "or auto"], ["xhigh", "multiples of 16", "--gif", "--svg"]),
        ("gpt-image-2.6-flare", ["--gif", "--frames", "--svg", "xhigh"], []),
        ("gpt-image-2.5-flare", ["xhigh, max", "multiples of 16", "3840x2160", "--transparent"], []),
        ("gpt-image-2", ["multiples of 16"], ["xhigh", "--transparent"]),
    ],
)
def test_help_offers_what_the_model_takes(model: str, offered: list[str], not_offered: list[str]) -> None:
    rendered = help_message(OptionDefaults(model=spec_for(model)), quiet_prefix="")["text"]
    assert f"`{model}`" in rendered
    assert all(part in rendered for part in offered), rendered
    assert not any(part in rendered for part in not_offered), rendered


ERRORS: list[BotError] = [
    InputRejected("the prompt is empty"),
    NotInChannel("C1"),
    JobInterrupted(),
    ModelBlocked(),
    ModelRetired("gpt-image-1-mini", setting="IMAGE_MODEL_FALLBACK"),
    ProviderRateLimited(retry_after=30),
    ProviderRateLimited(retry_after=None, quota_exhausted=True),
    ProviderTimeout(300),
    ProviderUnavailable(status=503),
    ProviderAuthFailed(),
    ProviderRejected(param="size", code="invalid_value"),
    NotDelivered(3),
    NotDelivered(3, posted=1, of=2),
    ProviderIncomplete(),
    OutputNotAvailable("gif", model="gpt-image-2.6-flare"),
]


def test_every_error_has_its_own_plain_sentence() -> None:
    sentences = [replies.for_error(error) for error in ERRORS]
    assert len(set(sentences)) == len(sentences)
    assert all("Error" not in sentence and "Traceback" not in sentence for sentence in sentences)
    assert "IMAGE_MODEL_FALLBACK" in replies.for_error(ERRORS[4])
    assert "30 seconds" in replies.for_error(ERRORS[5]) and "quota" in replies.for_error(ERRORS[6])
    assert "`abc12345`" in replies.unexpected("abc12345")
