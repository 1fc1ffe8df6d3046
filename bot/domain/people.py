"""Who asked: the requester, and the privacy-preserving id the model provider sees."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Requester:
    team_id: str
    user_id: str

    @property
    def safety_identifier(self) -> str:
        """A stable hash of team and user, so the provider can flag abuse without raw Slack ids."""
        digest = hashlib.sha256(f"easel:{self.team_id}:{self.user_id}".encode()).hexdigest()
        return digest[:32]
