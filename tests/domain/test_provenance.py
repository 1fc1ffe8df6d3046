"""The provenance a job keeps between attempts."""

from __future__ import annotations

from bot.domain.provenance import ParentImage


def test_a_parent_kept_by_an_earlier_version_is_restored() -> None:
    """A job stored before inputs' credentials were kept as words still resumes after an upgrade."""
    kept = {"id": 7, "number": 2, "user_id": "U2", "origin": "attached", "ai_provenance": True, "permalink": None}
    assert ParentImage.from_record(kept) == ParentImage(number=2, user_id="U2", origin="attached")
