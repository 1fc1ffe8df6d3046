"""What a person types, as Slack delivers it: the `text` of a message or a slash command, and
a message's `rich_text` block.

Slack escapes `&` `<` `>` as `&amp;` `&lt;` `&gt;` and writes what its client recognised as
tokens ("Formatting text for app surfaces", https://api.slack.com/reference/surfaces/formatting,
"Escaping text", "Linking to channels and users", "Linking to URLs", "Special mentions"):

- a person picked from `@` autocomplete: `<@U…>` in messages;
- `@here`, `@channel`, `@everyone`: `<!here>`, `<!channel>`, `<!everyone>`;
- a user group: `<!subteam^S…|@group>`;
- a channel: `<#C…|name>`;
- a URL typed with its scheme: `<https://…>`; a bare domain: `<http://acme.com|acme.com>`.

Slash commands ("Enabling interactivity with Slash commands", "Escaping of text",
https://api.slack.com/interactivity/slash-commands) always escape `&` `<` `>`. With the
command's `should_escape` on, people come as `<@U…|name>`, channels as `<#C…|name>` and links
as in messages. The `name` there is the person's legacy username, which Slack deprecated
("The one about usernames", https://api.slack.com/changelog/2017-09-the-one-about-usernames) and
does not promise: a person whose name could not be a username (lowercase letters, digits,
`.`, `_`, `-`) comes as `<@U…>`, with no name. With it off, people, channels and links come
as the plain words typed. That page speaks of people, channels and links only: `@here`-style
words are modelled as `<!here>` either way, which is the harder case for Easel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_TYPED = re.compile(
    r"(?P<url>https?://[^\s<>|]+)"
    r"|(?<![\w@.])(?P<domain>[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|dev))\b"
    r"|(?<!\S)(?P<at>@[\w-]+(?:\.[\w-]+)*)"
    r"|(?<!\S)#(?P<channel>[a-z0-9_-]+)",
    re.IGNORECASE,
)
BROADCASTS = ("here", "channel", "everyone")
_USERNAME = re.compile(r"[a-z0-9._-]+")


@dataclass(frozen=True)
class Directory:
    """Who and what the client's autocomplete knows: display name → id."""

    people: dict[str, str]
    channels: dict[str, str]  # name → id
    groups: dict[str, str]  # handle → id


@dataclass(frozen=True)
class Delivered:
    text: str
    rich_text: dict[str, Any]


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def as_message(typed: str, directory: Directory) -> Delivered:
    """A message as Slack delivers it: escaped `text` and the same content as `rich_text`."""
    text: list[str] = []
    elements: list[dict[str, Any]] = []
    for kind, value, token in _pieces(typed, directory):
        if kind == "text":
            text.append(escape(value))
            elements.append({"type": "text", "text": value})
        elif kind == "user":
            text.append(f"<@{token}>")
            elements.append({"type": "user", "user_id": token})
        elif kind == "broadcast":
            text.append(f"<!{value}>")
            elements.append({"type": "broadcast", "range": value})
        elif kind == "group":
            text.append(f"<!subteam^{token}|@{value}>")
            elements.append({"type": "usergroup", "usergroup_id": token})
        elif kind == "channel":
            text.append(f"<#{token}|{value}>")
            elements.append({"type": "channel", "channel_id": token})
        else:
            text.append(f"<{token}|{escape(value)}>" if token != value else f"<{token}>")
            elements.append({"type": "link", "url": token, **({"text": value} if token != value else {})})
    rich_text = {
        "type": "rich_text",
        "block_id": "typed",
        "elements": [{"type": "rich_text_section", "elements": elements}],
    }
    return Delivered("".join(text), rich_text)


def as_command(typed: str, directory: Directory, *, should_escape: bool) -> str:
    """A slash command's `text`."""
    text: list[str] = []
    for kind, value, token in _pieces(typed, directory):
        if kind == "text":
            text.append(escape(value))
        elif kind == "broadcast":
            text.append(f"<!{value}>")
        elif not should_escape:
            text.append(escape({"user": "@", "group": "@", "channel": "#"}.get(kind, "") + value))
        elif kind == "user":
            text.append(f"<@{token}|{value}>" if _USERNAME.fullmatch(value) else f"<@{token}>")
        elif kind == "group":
            text.append(f"<!subteam^{token}|@{value}>")
        elif kind == "channel":
            text.append(f"<#{token}|{value}>")
        else:
            text.append(f"<{token}|{escape(value)}>" if token != value else f"<{token}>")
    return "".join(text)


def _pieces(typed: str, directory: Directory) -> list[tuple[str, str, str]]:
    """(kind, what was typed, its id or address) for each recognised token and the text between."""
    pieces: list[tuple[str, str, str]] = []
    at = 0
    for match in _TYPED.finditer(typed):
        piece = _recognise(match, directory)
        if piece is None:
            continue
        if match.start() > at:
            pieces.append(("text", typed[at : match.start()], ""))
        pieces.append(piece)
        at = match.end()
    if at < len(typed):
        pieces.append(("text", typed[at:], ""))
    return pieces


def _recognise(match: re.Match[str], directory: Directory) -> tuple[str, str, str] | None:
    if url := match.group("url"):
        return ("link", url, url)
    if domain := match.group("domain"):
        return ("link", domain, f"http://{domain}")
    if handle := match.group("at"):
        name = handle[1:]
        if name.lower() in BROADCASTS:
            return ("broadcast", name.lower(), "")
        if name in directory.people:
            return ("user", name, directory.people[name])
        if name in directory.groups:
            return ("group", name, directory.groups[name])
        return None
    name = match.group("channel")
    return ("channel", name, directory.channels[name]) if name in directory.channels else None
