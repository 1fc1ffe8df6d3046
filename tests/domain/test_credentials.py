"""Reading C2PA content credentials from real signed, altered and plain bytes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.domain.credentials import read_credentials
from tests.fakes.c2pa_signing import ISSUER, sign, tamper, trust_anchor


def encoded(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (10, 20, 30)).save(buffer, image_format)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("image_format", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_signed_altered_and_plain(image_format: str, mime: str) -> None:
    plain = encoded(image_format)
    signed = sign(plain, mime, model="gpt-image-1-mini")

    valid = read_credentials(signed, mime)
    assert (valid.state, valid.issuer, valid.ai_generated) == ("valid", ISSUER, True)
    assert valid.describe() == f"signed by {ISSUER}, valid; created by gpt-image-1-mini"
    assert read_credentials(tamper(signed), mime).state == "invalid"
    assert read_credentials(plain, mime).state == "absent"
    assert read_credentials(plain, mime).describe() == "no manifest"


def test_an_unknown_type_is_not_claimed_either_way() -> None:
    result = read_credentials(b"%PDF-1.4", "application/pdf")
    assert result.state == "unreadable" and result.describe() == "could not be checked"


def test_a_configured_trust_anchor_makes_a_manifest_trusted() -> None:
    signed = sign(encoded("PNG"), "image/png", model="gpt-image-1-mini")
    trusted = read_credentials(signed, "image/png", trust_anchors=trust_anchor())
    assert (
        trusted.state == "trusted"
        and trusted.describe() == f"signed by {ISSUER}, valid and trusted; created by gpt-image-1-mini"
    )
    assert read_credentials(signed, "image/png").state == "valid", "without a trust list: valid, not trusted"
