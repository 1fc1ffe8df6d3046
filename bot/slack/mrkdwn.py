"""Slack's mrkdwn: dates in the reader's time zone, escaping, shortening."""

from __future__ import annotations

from datetime import datetime


def slack_date(moment: datetime) -> str:
    """A timestamp every reader sees in their own time zone, with a UTC fallback."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def escape(text: str) -> str:
    """Escape &, <, > as Slack requires, so a prompt cannot ping @channel or forge a link.

    The one escaping function: everything a person wrote passes through it exactly once on
    its way into mrkdwn ("Formatting text for app surfaces", "Escaping text",
    https://api.slack.com/reference/surfaces/formatting). Plain-text fields (file titles,
    alt text, `plain_text` objects) are shown as they are and are not escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def excerpt(text: str, limit: int) -> str:
    """`text` on one line, escaped, then cut to at most `limit` characters of mrkdwn.

    Cut after escaping, since Block Kit counts the escaped characters; never inside an
    entity, which would show a stray `&am`."""
    return fit(escape(" ".join(text.split())), limit)


def fit(mrkdwn: str, limit: int) -> str:
    """Mrkdwn cut to at most `limit` characters, never inside an entity or a `<…>` token."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    cut = mrkdwn[: limit - 1]
    token = cut.rfind("<")
    if token != -1 and ">" not in cut[token:]:
        cut = cut[:token]
    # Only an `&` after the last token starts an entity: inside a link's address it is the
    # address's own (a permalink's `&cid=`), unescaped.
    entity = cut.rfind("&")
    if entity > cut.rfind(">") and ";" not in cut[entity:]:
        cut = cut[:entity]
    return cut.rstrip() + "…"
