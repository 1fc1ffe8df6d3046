"""The request's message: who asked for what, how far the job has got, and once done the
buttons that iterate on its images (each click a new request of whoever clicks)."""

from __future__ import annotations

from typing import Any

from bot.domain.iteration import FollowUp
from bot.domain.model import ImageJob, JobStatus
from bot.slack.block_kit import Block
from bot.slack.mrkdwn import excerpt

PROMPT_PREVIEW_CHARS = 280

_STATUS_LABELS = {
    JobStatus.RECEIVED: ":hourglass_flowing_sand: queued",
    JobStatus.QUEUED: ":hourglass_flowing_sand: queued",
    JobStatus.GENERATING: ":art: generating",
    JobStatus.UPLOADING: ":arrow_up: uploading",
    JobStatus.DONE: ":white_check_mark: done, see the thread",
    JobStatus.FAILED: ":x: failed, see the thread",
}

PROVENANCE_ACTION = "show_provenance"
FOLLOW_UP_PREFIX = "follow_up_"  # + a FollowUp value
EDIT_ACTION = "open_edit"
DELETE_ACTION = "delete_images"
FOLLOW_UP_LABELS = {
    FollowUp.VARIATIONS: "Variations",
    FollowUp.REGENERATE: "Regenerate",
    FollowUp.HD: "HD",
    FollowUp.SQUARE: "Square",
    FollowUp.PORTRAIT: "Portrait",
    FollowUp.LANDSCAPE: "Landscape",
}


def request_message(
    job: ImageJob,
    status: JobStatus,
    *,
    model: str,
    ahead: int | None = None,
    elapsed: float | None = None,
    deleted: str | None = None,
) -> dict[str, Any]:
    """The message that anchors a request's thread (or, for an edit, stands in it) and shows
    how far the job has got (while queued, how many requests are ahead of it). The one
    builder of it: posted when the job is announced, updated as it goes and when its images
    are deleted."""
    requester, prompt, editing, job_id = job.requester, job.prompt, job.edit is not None, job.id
    options = prompt.options
    verb = "asked to edit" if editing else "asked"
    if editing and prompt.version is not None:
        verb += f" image #{prompt.version}"
    asked = f"<@{requester.user_id}> {verb}: {excerpt(prompt.text, PROMPT_PREVIEW_CHARS)}"
    details = (
        f"{model} · {options.size if options.size_given or not editing else 'size of the source'} · {options.quality}"
    )
    if options.n > 1:
        details += f" · {options.n} images"
    return {
        "text": f"{asked} ({status.value})",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": asked}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"{_status_label(status, ahead, elapsed)} · {details}"}],
            },
            *(
                _result_actions(job_id, deleted=bool(deleted))
                if status is JobStatus.DONE and job_id is not None
                else []
            ),
            *([{"type": "context", "elements": [{"type": "mrkdwn", "text": deleted}]}] if deleted else []),
        ],
    }


def _result_actions(job_id: int, *, deleted: bool) -> list[Block]:
    """One click to iterate: each button is a new request by whoever clicks, in this thread.
    Once the images are deleted, only their provenance remains to look at."""

    def button(action_id: str, label: str, *, style: str | None = None) -> Block:
        element: Block = {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label},
            "value": str(job_id),
        }
        if style:
            element["style"] = style
        return element

    if deleted:
        return [{"type": "actions", "block_id": "record", "elements": [button(PROVENANCE_ACTION, "Provenance")]}]
    return [
        {
            "type": "actions",
            "block_id": "iterate",
            "elements": [button(FOLLOW_UP_PREFIX + kind.value, label) for kind, label in FOLLOW_UP_LABELS.items()]
            + [button(EDIT_ACTION, "Edit…")],
        },
        {
            "type": "actions",
            "block_id": "record",
            "elements": [
                button(PROVENANCE_ACTION, "Provenance"),
                {
                    **button(DELETE_ACTION, "Delete", style="danger"),
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Delete these images?"},
                        "text": {
                            "type": "mrkdwn",
                            "text": "The images leave Slack; their provenance record stays, marked deleted.",
                        },
                        "confirm": {"type": "plain_text", "text": "Delete"},
                        "deny": {"type": "plain_text", "text": "Keep"},
                    },
                },
            ],
        },
    ]


def _status_label(status: JobStatus, ahead: int | None, elapsed: float | None) -> str:
    label = _STATUS_LABELS[status]
    if status is JobStatus.QUEUED and ahead is not None:
        label += " (next in line)" if ahead == 0 else f" ({ahead} {'request' if ahead == 1 else 'requests'} ahead)"
    if elapsed is not None and status is not JobStatus.QUEUED:
        label += f" · {_seconds(elapsed)}"
    return label


def _seconds(elapsed: float) -> str:
    if elapsed < 90:
        return f"{round(elapsed)} s"
    return f"{int(elapsed // 60)} min {round(elapsed % 60)} s"
