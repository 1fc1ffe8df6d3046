"""The provenance of each image: who asked for what, with which model, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.people import Requester


@dataclass(frozen=True, kw_only=True)
class Provenance:
    requester: Requester
    model: str
    prompt: str
    size: str
    quality: str
    output_format: str
    requested_at: datetime
    sha256: str
    position: int  # 1-based, among the images of one request
    of: int
