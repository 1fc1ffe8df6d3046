"""C2PA signing for tests: throwaway certificate chains made on first use, and the shapes real
files come in, signed for real with c2pa-python's `Builder`:

- a fresh single manifest, as the Images API's outputs carry (`sign`);
- a chain whose parent ingredient records `c2pa.created` by a model and whose active manifest
  only `c2pa.opened`, as images saved from ChatGPT carry (`chatgpt_chain`);
- a signature whose certificate has since expired, with no time-stamp (`sign_then_expire`) or
  with one from a local time-stamp authority (`expired_timestamped_files`);
- a certificate anyone could make that names "OpenAI" as its organisation (`SELF_MADE_OPENAI`);
- a manifest kept at a URL instead of in the file (`sign_remote`);
- content changed after signing (`alter_content`), a signature spoiled (`spoil_signature`), a manifest
  damaged (`damage_manifest`) and one
  manifest cut short (`truncate_manifest`).

c2pa refuses to sign with a certificate that is not valid at that moment, so an expired
signature is made the only way a real one comes about: signed while valid, read after expiry.
"""

from __future__ import annotations

import datetime
import functools
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image

from tests.fakes.certificates import root_certificate
from tests.fakes.timestamp_authority import TimestampAuthority

ISSUER = "OpenAI (test)"
GENERATOR = "OpenAI Images (test)"
AI_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


@dataclass(frozen=True)
class Identity:
    """A signing certificate chain (leaf first) and the leaf's private key, both PEM."""

    chain: bytes
    key: bytes

    @property
    def root(self) -> str:
        """The chain's root certificate (PEM): a trust anchor under which it verifies."""
        return self.chain[self.chain.index(b"-----BEGIN CERTIFICATE-----", 1) :].decode()

    def signer(self, timestamp_url: str | None = None) -> c2pa.Signer:
        """A c2pa signer; with `timestamp_url`, each signature gets a time-stamp from that TSA."""
        ta_url = timestamp_url.encode() if timestamp_url else None
        return c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(alg=b"es256", sign_cert=self.chain, private_key=self.key, ta_url=ta_url)
        )


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        ]
    )


def _usage(*, signer: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signer,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signer,
        crl_sign=not signer,
        encipher_only=False,
        decipher_only=False,
    )


def make_identity(organisation: str, *, lifetime: datetime.timedelta) -> Identity:
    """An ES256 signer for `organisation` under a root of its own, valid from a day ago for
    `lifetime` from now (whole seconds, as certificates count time)."""
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root_name = _name(f"{organisation} root", organisation)
    root = root_certificate(root_name, root_key, now)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{organisation} signer", organisation))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + lifetime)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(signer=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    chain = leaf.public_bytes(serialization.Encoding.PEM) + root.public_bytes(serialization.Encoding.PEM)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Identity(chain=chain, key=private)


@functools.cache
def identity(organisation: str = ISSUER) -> Identity:
    """A long-lived identity per organisation, made once per test run."""
    return make_identity(organisation, lifetime=datetime.timedelta(days=365))


SELF_MADE_OPENAI = "OpenAI"  # identity(SELF_MADE_OPENAI): what anyone can put in a certificate


def _created(model: str, generator: str) -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": generator, "version": "1.0"}],
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {"action": "c2pa.created", "digitalSourceType": AI_SOURCE, "softwareAgent": {"name": model}}
                    ]
                },
            }
        ],
    }


def _sign(
    manifest: dict[str, Any],
    data: bytes,
    mime_type: str,
    signer: Identity,
    *,
    parent: bytes | None = None,
    remote_url: str | None = None,
    timestamp_url: str | None = None,
) -> bytes:
    signed = io.BytesIO()
    with signer.signer(timestamp_url) as c2pa_signer, c2pa.Builder(json.dumps(manifest)) as builder:
        if parent is not None:
            ingredient = {"title": "parent", "relationship": "parentOf", "label": "parent"}
            builder.add_ingredient(json.dumps(ingredient), mime_type, io.BytesIO(parent))
        if remote_url is not None:
            builder.set_no_embed()
            builder.set_remote_url(remote_url)
        builder.sign(c2pa_signer, mime_type, io.BytesIO(data), signed)
    return signed.getvalue()


def sign(
    data: bytes, mime_type: str, *, model: str, signer: Identity | None = None, timestamp_url: str | None = None
) -> bytes:
    """`data` with a C2PA manifest saying `model` created it, as OpenAI's outputs carry;
    time-stamped by the TSA at `timestamp_url`, if given."""
    return _sign(_created(model, GENERATOR), data, mime_type, signer or identity(), timestamp_url=timestamp_url)


def chatgpt_chain(data: bytes, mime_type: str, *, model: str = "GPT-4o", signer: Identity | None = None) -> bytes:
    """An image saved from ChatGPT: the model's `c2pa.created` manifest as the parent ingredient,
    and an active manifest that records only `c2pa.opened` of it, by "ChatGPT"."""
    identity_ = signer or identity()
    parent = _sign(_created(model, GENERATOR), data, mime_type, identity_)
    opened = {
        "claim_generator_info": [{"name": "ChatGPT", "version": "1.0"}],
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}}]},
            }
        ],
    }
    return _sign(opened, parent, mime_type, identity_, parent=parent)


def sign_then_expire(items: list[tuple[bytes, str]], *, model: str, shape: Callable[..., bytes] = sign) -> list[bytes]:
    """Each (data, mime type) signed by `shape` under a certificate that expires a second
    later; returns once it has expired (no timestamp vouches for the signing time)."""
    short_lived = make_identity(ISSUER, lifetime=datetime.timedelta(seconds=1))
    expires = x509.load_pem_x509_certificate(short_lived.chain).not_valid_after_utc
    signed = [shape(data, mime_type, model=model, signer=short_lived) for data, mime_type in items]
    while datetime.datetime.now(datetime.UTC) <= expires + datetime.timedelta(seconds=1):
        time.sleep(0.1)
    return signed


def plain_image(image_format: str, size: int = 256) -> bytes:
    """A small real image with no manifest."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (10, 20, 30)).save(buffer, image_format)
    return buffer.getvalue()


@functools.cache
def expired_files() -> dict[str, tuple[bytes, bytes]]:
    """Per MIME type (PNG, JPEG, WebP): (a single manifest by gpt-image-1-mini, a ChatGPT-style
    chain made with GPT-4o) whose certificate expired after signing; made once per test run,
    since each batch waits for its certificate to run out."""
    items = [(plain_image(image_format), mime) for mime, image_format in FORMATS.items()]
    single = sign_then_expire(items, model="gpt-image-1-mini")
    chained = sign_then_expire(items, model="GPT-4o", shape=chatgpt_chain)
    return {mime: (one, chain) for mime, one, chain in zip(FORMATS, single, chained, strict=True)}


@functools.cache
def expired_timestamped_files() -> tuple[dict[str, bytes], str]:
    """Per MIME type, a manifest by gpt-image-1-mini whose certificate expired after signing,
    with a time-stamp from a local TSA taken while it was valid; and that TSA's root (PEM)."""
    with TimestampAuthority() as tsa:
        items = [(plain_image(image_format), mime) for mime, image_format in FORMATS.items()]
        stamped = functools.partial(sign, timestamp_url=tsa.url)
        signed = sign_then_expire(items, model="gpt-image-1-mini", shape=stamped)
    return dict(zip(FORMATS, signed, strict=True)), tsa.root


def sign_remote(data: bytes, mime_type: str, *, model: str, url: str) -> tuple[bytes, bytes]:
    """(the file, its manifest): the file only points at `url`, where the manifest would live."""
    signed = io.BytesIO()
    with identity().signer() as c2pa_signer, c2pa.Builder(json.dumps(_created(model, GENERATOR))) as builder:
        builder.set_no_embed()
        builder.set_remote_url(url)
        manifest = builder.sign(c2pa_signer, mime_type, io.BytesIO(data), signed)
    return signed.getvalue(), manifest


def _manifest_span(data: bytes) -> tuple[int, int]:
    """Where the JUMBF manifest store sits in a signed file: from its first `jumb` box to the
    end of its claim signature (good enough for PNG, JPEG and WebP as c2pa writes them)."""
    start = data.index(b"jumb") - 4
    end = data.rindex(b"c2pa.signature") + 64
    return start, end


def alter_content(data: bytes) -> bytes:
    """Bytes added after the image's end, as a careless tool might: the file still opens, but
    its content no longer matches the manifest's hash of it."""
    return data + b"\x00altered after signing"


def spoil_signature(data: bytes) -> bytes:
    """One byte near the end of the claim signature flipped: the signature no longer holds."""
    spoiled = bytearray(data)
    spoiled[data.rindex(b"c2pa.signature") + 200] ^= 0x01
    return bytes(spoiled)


def damage_manifest(data: bytes) -> bytes:
    """One byte in the middle of the manifest store flipped: a part of it no longer matches the
    hash its claim recorded (or no longer parses)."""
    start, end = _manifest_span(data)
    damaged = bytearray(data)
    damaged[(start + end) // 2] ^= 0x01
    return bytes(damaged)


def truncate_manifest(data: bytes) -> bytes:
    """The file cut off in the middle of its manifest, as a broken download leaves it."""
    start, end = _manifest_span(data)
    return data[: (start + end) // 2]


def trust_anchor() -> str:
    """The default identity's root (PEM): configure it to see these outputs as verified."""
    return identity().root
