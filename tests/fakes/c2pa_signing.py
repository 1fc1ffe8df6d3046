"""C2PA signing for the local Images API: a throwaway certificate chain made on first use,
so outputs carry real manifests that validate, fail when altered, or are missing."""

from __future__ import annotations

import datetime
import functools
import io
import json

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ISSUER = "OpenAI (test)"
GENERATOR = "OpenAI Images (test)"
AI_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, common_name), x509.NameAttribute(NameOID.ORGANIZATION_NAME, ISSUER)]
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


@functools.cache
def _credentials() -> tuple[bytes, bytes]:
    """(certificate chain PEM, private key PEM): an ES256 signer under a test root."""
    now = datetime.datetime.now(datetime.UTC)
    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root_name = _name("Easel test root")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(signer=False), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("Fake Images API"))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
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
    return chain, private


def sign(data: bytes, mime_type: str, *, model: str) -> bytes:
    """`data` with a C2PA manifest saying `model` created it, as OpenAI's outputs carry."""
    chain, private = _credentials()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg=b"es256", sign_cert=chain, private_key=private, ta_url=None))
    manifest = {
        "claim_generator_info": [{"name": GENERATOR, "version": "1.0"}],
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
    signed = io.BytesIO()
    with signer, c2pa.Builder(json.dumps(manifest)) as builder:
        builder.sign(signer, mime_type, io.BytesIO(data), signed)
    return signed.getvalue()


def tamper(data: bytes) -> bytes:
    """One flipped byte in the middle: the manifest's hash of the content no longer holds."""
    altered = bytearray(data)
    altered[len(altered) // 2] ^= 0xFF
    return bytes(altered)


def trust_anchor() -> str:
    """The test root's certificate (PEM): configure it to see these outputs as trusted."""
    chain, _ = _credentials()
    return chain[chain.index(b"-----BEGIN CERTIFICATE-----", 1) :].decode()
