"""Reading C2PA content credentials from the shapes real files come in, each signed for real
in PNG, JPEG and WebP: fresh, a ChatGPT-style chain, an expired certificate, a self-made
"OpenAI" certificate, a remote manifest, and files altered or damaged after signing."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.domain.credentials import ContentCredentials, CredentialReader, ReadingOptions, read_credentials
from tests.fakes.c2pa_signing import (
    ISSUER,
    SELF_MADE_OPENAI,
    alter_content,
    chatgpt_chain,
    damage_manifest,
    expired_files,
    expired_timestamped_files,
    identity,
    plain_image,
    sign,
    sign_remote,
    spoil_signature,
    truncate_manifest,
    trust_anchor,
)

FORMATS = [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
TRUSTED = ReadingOptions(trust_anchors=trust_anchor())


def generator(read: ContentCredentials) -> str | None:
    """The software agent the chain's creating manifest names."""
    return read.origin.generator if read.origin else None


formats = pytest.mark.parametrize(("image_format", "mime"), FORMATS)


@formats
def test_a_fresh_manifest_is_intact_and_its_signer_only_claimed_without_a_trust_list(
    image_format: str, mime: str
) -> None:
    signed = sign(plain_image(image_format), mime, model="gpt-image-1-mini")
    read = read_credentials(signed, mime)
    assert (read.verdict, read.ai_generated, generator(read)) == ("intact", True, "gpt-image-1-mini")
    assert read.describe() == (f"intact; claims to be signed by {ISSUER} (not verified); AI-made with gpt-image-1-mini")
    verified = read_credentials(signed, mime, options=TRUSTED)
    assert verified.describe() == f"intact; signed by {ISSUER} (verified); AI-made with gpt-image-1-mini"


@formats
def test_a_chain_is_walked_to_the_manifest_that_made_the_image(image_format: str, mime: str) -> None:
    chained = chatgpt_chain(plain_image(image_format), mime, model="GPT-4o")
    read = read_credentials(chained, mime)
    assert (read.verdict, read.ai_generated, generator(read), read.last_step) == (
        "intact",
        True,
        "GPT-4o",
        "opened in ChatGPT",
    )
    assert read.made() == f"AI-made with GPT-4o (claims to be signed by {ISSUER}), opened in ChatGPT"
    verified = read_credentials(chained, mime, options=TRUSTED)
    assert verified.made() == f"AI-made with GPT-4o (signed by {ISSUER}, verified), opened in ChatGPT"


@formats
def test_an_expired_certificate_is_not_an_alteration(image_format: str, mime: str) -> None:
    single, chained = expired_files()[mime]
    read = read_credentials(single, mime)
    assert (read.verdict, read.problems, read.ai_generated) == ("certificate", ("certificate expired",), True)
    assert read.describe().startswith("intact, certificate expired; claims to be signed by")
    chain = read_credentials(chained, mime)
    assert chain.verdict == "certificate" and chain.ai_generated and generator(chain) == "GPT-4o"
    assert "ALTERED" not in chain.describe() and "opened in ChatGPT" in chain.describe()


@formats
def test_a_trusted_time_stamp_keeps_a_signature_made_while_its_certificate_was_valid_intact(
    image_format: str, mime: str
) -> None:
    files, tsa_root = expired_timestamped_files()
    untrusted_time = read_credentials(files[mime], mime)
    assert untrusted_time.verdict == "certificate", "a time-stamp counts only from a trusted TSA"
    trusted_time = read_credentials(files[mime], mime, options=ReadingOptions(trust_anchors=tsa_root))
    assert trusted_time.verdict == "intact" and trusted_time.ai_generated
    assert trusted_time.signer is not None and not trusted_time.signer.verified, "the TSA vouches for time only"


@formats
def test_an_expired_certificate_whose_file_was_then_altered_is_altered(image_format: str, mime: str) -> None:
    single, _ = expired_files()[mime]
    read = read_credentials(alter_content(single), mime)
    assert read.verdict == "altered" and not read.ai_generated


@formats
def test_a_self_made_openai_certificate_is_never_verified(image_format: str, mime: str) -> None:
    forged = sign(plain_image(image_format), mime, model="GPT-4o", signer=identity(SELF_MADE_OPENAI))
    for options in (None, TRUSTED):  # a trust list that does not hold its root: still a claim
        read = read_credentials(forged, mime, options=options)
        assert read.verdict == "intact" and read.signer is not None and not read.signer.verified
        assert "claims to be signed by OpenAI (not verified)" in read.describe()


@formats
def test_alterations_are_named(image_format: str, mime: str) -> None:
    signed = sign(plain_image(image_format), mime, model="gpt-image-1-mini")
    content = read_credentials(alter_content(signed), mime)
    assert content.describe() == "ALTERED: the image no longer matches its manifest"
    signature = read_credentials(spoil_signature(signed), mime)
    assert signature.describe() == "ALTERED: its signature does not match"


@formats
def test_a_damaged_manifest_is_never_intact_and_never_missing(image_format: str, mime: str) -> None:
    signed = sign(plain_image(image_format), mime, model="gpt-image-1-mini")
    damaged = read_credentials(damage_manifest(signed), mime)
    assert damaged.verdict in ("altered", "unchecked") and not damaged.ai_generated
    truncated = read_credentials(truncate_manifest(signed), mime)
    assert truncated.describe() == "could not be checked: damaged or unreadable manifest"


@formats
def test_no_manifest_claims_none(image_format: str, mime: str) -> None:
    read = read_credentials(plain_image(image_format), mime)
    assert read.verdict == "absent" and read.describe() == "no manifest" and not read.ai_generated


def test_inputs_that_cannot_be_checked_say_so() -> None:
    assert read_credentials(b"", "image/png").describe() == "could not be checked: empty file"
    pdf = read_credentials(b"%PDF-1.4", "application/pdf")
    assert pdf.describe() == "could not be checked: not a file type C2PA is read from"


class ManifestHost:
    """A local server holding one remote manifest, recording every request it gets."""

    def __init__(self, manifest: bytes = b"") -> None:
        self.manifest = manifest
        self.delay = 0.0  # seconds before answering
        self.requests: list[str] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.requests.append(self.path)
                time.sleep(host.delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/c2pa")
                self.send_header("Content-Length", str(len(host.manifest)))
                self.end_headers()
                self.wfile.write(host.manifest)

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.block_on_close = False  # a request held by `delay` is not waited for
        self.host = f"127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def manifest_host() -> Iterator[ManifestHost]:
    host = ManifestHost()
    yield host
    host.close()


@formats
def test_a_remote_manifest_is_never_fetched_by_default(
    image_format: str, mime: str, manifest_host: ManifestHost
) -> None:
    url = f"http://{manifest_host.host}/manifest.c2pa"
    data, manifest_host.manifest = sign_remote(plain_image(image_format), mime, model="gpt-image-1-mini", url=url)
    read = read_credentials(data, mime)
    assert read.describe() == (
        "could not be checked: its manifest is stored remotely, and remote manifests are not fetched"
    )
    other_host = read_credentials(data, mime, options=ReadingOptions(remote_manifest_hosts=("example.com",)))
    assert other_host.describe() == "could not be checked: its remote manifest could not be fetched"
    assert manifest_host.requests == [], "the file's author chose the URL: nothing may be sent there"


def test_a_remote_manifest_is_fetched_from_an_allowed_host(manifest_host: ManifestHost) -> None:
    url = f"http://{manifest_host.host}/manifest.c2pa"
    data, manifest_host.manifest = sign_remote(plain_image("PNG"), "image/png", model="gpt-image-1-mini", url=url)
    read = read_credentials(data, "image/png", options=ReadingOptions(remote_manifest_hosts=(manifest_host.host,)))
    assert read.verdict == "intact" and generator(read) == "gpt-image-1-mini"
    assert manifest_host.requests == ["/manifest.c2pa"]


async def test_reading_runs_off_the_event_loop_within_its_time_limit(manifest_host: ManifestHost) -> None:
    """A remote host that never answers holds up neither the loop nor the note."""
    url = f"http://{manifest_host.host}/manifest.c2pa"
    data, manifest_host.manifest = sign_remote(plain_image("PNG"), "image/png", model="gpt-image-1-mini", url=url)
    manifest_host.delay = 3.0
    reader = CredentialReader(ReadingOptions(remote_manifest_hosts=(manifest_host.host,)), timeout=0.3)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    read = await reader.read(data, "image/png")
    ticker.cancel()
    assert read.describe() == "could not be checked: reading its manifest took too long"
    assert ticks >= 5, "the event loop kept running while the manifest was read"
