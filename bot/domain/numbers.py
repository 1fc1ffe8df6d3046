"""Numbers as people type them and as Slack echoes them back: ASCII digits, bounded length.

`str.isdigit` accepts `²` (AltGr+2 on a German keyboard), which `int()` then refuses, and
`int()` accepts `٣` (an Arabic-Indic three) and thousands of digits; neither is a number here.
"""

from __future__ import annotations

import re

_WHOLE = re.compile(r"[0-9]{1,18}")  # 18 digits always fit a signed 64-bit column


def whole_number(text: str) -> int | None:
    """`text` as a non-negative integer if it is ASCII digits only (no sign, no spaces, no
    more than 18 of them); otherwise None, for the caller to explain."""
    return int(text) if _WHOLE.fullmatch(text) else None
