"""Block Kit's limits, as the local Slack enforces them: a payload over any of them is refused.

Slack answers `invalid_blocks` for a message (chat.postMessage, chat.update,
chat.postEphemeral, files.completeUploadExternal, a response_url) and `invalid_arguments` for a
view, naming the offending place as a JSON pointer. The figures come from the Block Kit
reference pages (https://docs.slack.dev/reference/block-kit/blocks/section-block,
…/context-block, …/actions-block, …/header-block, …/input-block; …/block-elements/button-element,
…/checkboxes-element, …/static-select-element; …/composition-objects/text-object,
…/option-object, …/confirmation-dialog-object; views: https://docs.slack.dev/reference/views).
"""

from __future__ import annotations

from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
TEXT = 3000  # any text object in a section, a context element, a field (2000)
FIELD = 2000
FIELDS = 10
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
HEADER = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
SELECT_OPTIONS = 100
CHECKBOX_OPTIONS = 10
LABEL = 2000
PLACEHOLDER = 150
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
ALT_TEXT = 2000
ID = 255  # block_id, action_id
VIEW_TITLE = 24  # also submit and close
PRIVATE_METADATA = 3000


def message_problems(blocks: Any) -> list[str]:
    """Why Slack would refuse these message blocks (empty: it takes them)."""
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return ["blocks must be an array [json-pointer:/blocks]"]
    problems = [f"no more than {MESSAGE_BLOCKS} items allowed [json-pointer:/blocks]"] * (len(blocks) > MESSAGE_BLOCKS)
    for index, block in enumerate(blocks):
        problems += _block(block, f"/blocks/{index}")
    return problems


def view_problems(view: dict[str, Any]) -> list[str]:
    """Why Slack would refuse this view (modal or Home tab)."""
    problems: list[str] = []
    blocks = view.get("blocks") or []
    if len(blocks) > VIEW_BLOCKS:
        problems.append(f"no more than {VIEW_BLOCKS} items allowed [json-pointer:/view/blocks]")
    for key in ("title", "submit", "close"):
        problems += _text(view.get(key), f"/view/{key}", VIEW_TITLE)
    if len(view.get("private_metadata") or "") > PRIVATE_METADATA:
        problems.append(f"must be less than {PRIVATE_METADATA} characters [json-pointer:/view/private_metadata]")
    for index, block in enumerate(blocks):
        problems += _block(block, f"/view/blocks/{index}")
    return problems


def _block(block: dict[str, Any], at: str) -> list[str]:
    problems = _id(block.get("block_id"), f"{at}/block_id")
    kind = block.get("type")
    if kind == "section":
        problems += _text(block.get("text"), f"{at}/text", TEXT)
        fields = block.get("fields") or []
        if len(fields) > FIELDS:
            problems.append(f"no more than {FIELDS} items allowed [json-pointer:{at}/fields]")
        for index, field in enumerate(fields):
            problems += _text(field, f"{at}/fields/{index}", FIELD)
        if block.get("accessory"):
            problems += _element(block["accessory"], f"{at}/accessory")
    elif kind == "context":
        elements = block.get("elements") or []
        if len(elements) > CONTEXT_ELEMENTS:
            problems.append(f"no more than {CONTEXT_ELEMENTS} items allowed [json-pointer:{at}/elements]")
        for index, element in enumerate(elements):
            problems += _element(element, f"{at}/elements/{index}")
    elif kind == "actions":
        elements = block.get("elements") or []
        if len(elements) > ACTIONS_ELEMENTS:
            problems.append(f"no more than {ACTIONS_ELEMENTS} items allowed [json-pointer:{at}/elements]")
        for index, element in enumerate(elements):
            problems += _element(element, f"{at}/elements/{index}")
    elif kind == "header":
        problems += _text(block.get("text"), f"{at}/text", HEADER)
    elif kind == "input":
        problems += _text(block.get("label"), f"{at}/label", LABEL)
        problems += _element(block.get("element") or {}, f"{at}/element")
    return problems


def _element(element: dict[str, Any], at: str) -> list[str]:
    kind = element.get("type")
    problems = _id(element.get("action_id"), f"{at}/action_id")
    if kind in ("mrkdwn", "plain_text"):
        return _text(element, at, TEXT)
    if kind == "image":
        if len(element.get("alt_text") or "") > ALT_TEXT:
            problems.append(f"must be less than {ALT_TEXT} characters [json-pointer:{at}/alt_text]")
    elif kind == "button":
        problems += _text(element.get("text"), f"{at}/text", BUTTON_TEXT)
        if len(element.get("value") or "") > BUTTON_VALUE:
            problems.append(f"must be less than {BUTTON_VALUE} characters [json-pointer:{at}/value]")
        if confirm := element.get("confirm"):
            problems += _text(confirm.get("title"), f"{at}/confirm/title", CONFIRM_TITLE)
            problems += _text(confirm.get("text"), f"{at}/confirm/text", CONFIRM_TEXT)
            problems += _text(confirm.get("confirm"), f"{at}/confirm/confirm", CONFIRM_BUTTON)
            problems += _text(confirm.get("deny"), f"{at}/confirm/deny", CONFIRM_BUTTON)
    elif kind in ("static_select", "checkboxes"):
        most = SELECT_OPTIONS if kind == "static_select" else CHECKBOX_OPTIONS
        options = element.get("options") or []
        if len(options) > most:
            problems.append(f"no more than {most} items allowed [json-pointer:{at}/options]")
        for index, option in enumerate([*options, *(element.get("initial_options") or [])]):
            problems += _text(option.get("text"), f"{at}/options/{index}/text", OPTION_TEXT)
            if len(option.get("value") or "") > OPTION_VALUE:
                problems.append(f"must be less than {OPTION_VALUE} characters [json-pointer:{at}/options/{index}]")
        problems += _text(element.get("placeholder"), f"{at}/placeholder", PLACEHOLDER)
    elif kind == "plain_text_input":
        problems += _text(element.get("placeholder"), f"{at}/placeholder", PLACEHOLDER)
    return problems


def _text(text: dict[str, Any] | None, at: str, most: int) -> list[str]:
    if text is None:
        return []
    length = len(text.get("text") or "")
    if length == 0:
        return [f"must be more than 0 characters [json-pointer:{at}/text]"]
    return [f"must be less than {most} characters [json-pointer:{at}/text]"] if length > most else []


def _id(value: str | None, at: str) -> list[str]:
    return [f"must be less than {ID} characters [json-pointer:{at}]"] if value and len(value) > ID else []
