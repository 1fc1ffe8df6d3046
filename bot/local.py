"""`python -m bot generate`: the same intake and pipeline as Slack's, writing files instead of
posting. The run is a job like any other, recorded and charged to a command-line requester:
team `local`, and the login name (or `--as`) for the user, so its limits hold here too."""

from __future__ import annotations

import getpass
import html
import os
import re
import sys
from pathlib import Path

from bot.config import Settings
from bot.domain.delivery import DeliveryFailed
from bot.domain.model import FinishedImage, ImageJob, JobRequest, JobResult, JobStatus, Place, PostedImage
from bot.domain.people import Requester
from bot.domain.reporter import RecordUpload
from bot.domain.requests import HelpWanted, parse_prompt
from bot.errors import BotError, NotDelivered
from bot.slack.replies import for_error, unexpected
from bot.wiring import build_services

LOCAL_TEAM = "local"  # the command line's own team: no Slack workspace has this id
LOCAL_CONVERSATION = "local"
SLACK_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")  # `bot.slack.mrkdwn.slack_date`: keep its fallback
LEADING_EMOJI = re.compile(r"^:[a-z0-9_+-]+: ")


def for_terminal(words: str) -> str:
    """Slack's words for a terminal: dates as their UTC fallback, no leading emoji code."""
    return html.unescape(LEADING_EMOJI.sub("", SLACK_DATE.sub(r"\1", words)))


class FileReporter:
    """`JobReporter` that writes the images next to `output` and reports on stderr."""

    def __init__(self, output: Path) -> None:
        self._output = output
        self.written: list[Path] = []
        self.failure: str | None = None

    async def progress(self, job: ImageJob, status: JobStatus, *, ahead: int | None = None) -> None:
        print(f"job {job.id}: {status.value}", file=sys.stderr)

    async def deliver(
        self, job: ImageJob, image: FinishedImage, result: JobResult, record_upload: RecordUpload
    ) -> PostedImage:
        provenance = image.provenance
        path = self._output
        if provenance.of > 1:
            path = path.with_name(f"{path.stem}-{provenance.position}{path.suffix}")
        path.write_bytes(image.data)  # the provider's bytes, untouched
        self.written.append(path)
        print(f"{path}: {provenance.model} · {provenance.size} · {provenance.quality} · sha256 {provenance.sha256}")
        return PostedImage(file_id=None, permalink=path.resolve().as_uri())

    async def preview(self, job: ImageJob, data: bytes) -> None:
        print(f"job {job.id}: preview of {len(data):,} bytes", file=sys.stderr)

    async def find_posted(self, job: ImageJob, file_id: str) -> PostedImage | None:
        return None  # files are written in one go: there is never a half-finished one to find

    async def user_paused(self, job: ImageJob, strikes: int) -> None:
        print(f"{job.requester.user_id} is paused for today after {strikes} blocked requests", file=sys.stderr)

    async def failed(self, job: ImageJob, error: BotError | None, reference: str) -> None:
        self.failure = for_terminal(for_error(error) if error is not None else unexpected(reference))


async def generate_to_file(settings: Settings, text: str, output: Path, *, user: str | None = None) -> int:
    """Exit status: 0 when the images were written, 1 otherwise (the reason is printed: a bad
    flag, a limit, the model's refusal)."""
    services = build_services(settings)
    try:
        try:
            parsed = parse_prompt(text, services.option_defaults)
        except BotError as error:
            print(for_terminal(for_error(error)), file=sys.stderr)
            return 1
        if isinstance(parsed, HelpWanted):
            print(
                'usage: python -m bot generate "prompt" -o out.png [--as NAME] [--size …] [--quality …] [--n …]',
                file=sys.stderr,
            )
            return 1
        request = JobRequest(
            requester=Requester(LOCAL_TEAM, user or getpass.getuser()),
            prompt=parsed,
            place=Place(conversation=LOCAL_CONVERSATION),
        )
        try:
            job = await services.intake.submit(request, held_by=f"local:{os.getpid()}")
        except BotError as error:  # a limit: nothing was made or charged
            print(for_terminal(for_error(error)), file=sys.stderr)
            return 1
        assert job is not None  # no request key: never a redelivery
        reporter = FileReporter(output)
        try:
            await services.pipeline.run(job, reporter)
        except DeliveryFailed:  # the file could not be written: no worker may take this job up later
            await services.pipeline.abandon(job, reporter, NotDelivered(1))
        if reporter.failure:
            print(reporter.failure, file=sys.stderr)
            return 1
        return 0
    finally:
        await services.close()
