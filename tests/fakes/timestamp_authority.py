"""A local RFC 3161 time-stamp authority, so the test signer can make signatures that carry a
trusted time, as a signer with a TSA does: c2pa sends the TSA a `TimeStampReq` over HTTP
(`application/timestamp-query`) while signing and embeds the `TimeStampToken` it answers.

The token is a CMS SignedData (RFC 5652) over a TSTInfo (RFC 3161 §2.4.2), signed with an
ES256 key whose certificate has the critical timeStamping extended key usage (§2.3), with the
ESS signing-certificate-v2 attribute (RFC 5816). cryptography builds no such structure, so
the few DER shapes needed are written out here.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.fakes.certificates import root_certificate

SHA256 = "2.16.840.1.101.3.4.2.1"
ECDSA_SHA256 = "1.2.840.10045.4.3.2"
SIGNED_DATA = "1.2.840.113549.1.7.2"
TST_INFO = "1.2.840.113549.1.9.16.1.4"
CONTENT_TYPE = "1.2.840.113549.1.9.3"
MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"
POLICY = "1.3.6.1.4.1.99999.1"  # a private arc: this TSA's only policy


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _sequence(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _set(*items: bytes) -> bytes:
    return _tlv(0x31, b"".join(sorted(items)))  # DER orders a SET OF by encoding


def _integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(part) for part in dotted.split("."))
    body = bytearray([40 * first + second])
    for number in rest:
        chunk = [number & 0x7F]
        number >>= 7
        while number:
            chunk.append(0x80 | (number & 0x7F))
            number >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _octets(data: bytes) -> bytes:
    return _tlv(0x04, data)


def _algorithm(oid: str, *, null: bool = True) -> bytes:
    return _sequence(_oid(oid), b"\x05\x00") if null else _sequence(_oid(oid))


def _read(data: bytes, at: int = 0) -> tuple[int, bytes, int]:
    """(tag, content, next position) of the DER element at `at`."""
    tag, size = data[at], data[at + 1]
    at += 2
    if size & 0x80:
        count = size & 0x7F
        size = int.from_bytes(data[at : at + count], "big")
        at += count
    return tag, data[at : at + size], at + size


def _children(content: bytes) -> list[tuple[int, bytes]]:
    items, at = [], 0
    while at < len(content):
        tag, body, at = _read(content, at)
        items.append((tag, body))
    return items


def _request(query: bytes) -> tuple[bytes, bytes, int | None]:
    """(hash algorithm DER, hashed message, nonce) of a TimeStampReq (RFC 3161 §2.4.1)."""
    _, request, _ = _read(query)
    parts = _children(request)
    (_, algorithm), (_, hashed) = _children(parts[1][1])
    nonce = next((int.from_bytes(body, "big", signed=True) for tag, body in parts[2:] if tag == 0x02), None)
    return _tlv(0x30, algorithm), hashed, nonce


class TimestampAuthority:
    """`with TimestampAuthority() as tsa:` serves time-stamps at `tsa.url`; `tsa.root` is the
    PEM of the root a validator must trust for them to count."""

    def __init__(self) -> None:
        now = datetime.datetime.now(datetime.UTC)
        root_key, self._key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Easel test TSA root")])
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Easel test TSA")])
        root = root_certificate(root_name, root_key, now)
        self._certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(root_name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256())
        )
        self._root = root
        self.root = root.public_bytes(serialization.Encoding.PEM).decode()
        self.requests = 0
        self._serials = itertools.count(1)
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                authority.requests += 1
                body = authority.respond(query)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> TimestampAuthority:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def respond(self, query: bytes) -> bytes:
        """A granted TimeStampResp for the query, stamped with the current time."""
        algorithm, hashed, nonce = _request(query)
        moment = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%SZ").encode()
        info = _sequence(
            _integer(1),
            _oid(POLICY),
            _sequence(algorithm, _octets(hashed)),
            _integer(next(self._serials)),
            _tlv(0x18, moment),
            *([_integer(nonce)] if nonce is not None else []),
        )
        certificate = self._certificate.public_bytes(serialization.Encoding.DER)
        attributes = [
            _sequence(_oid(CONTENT_TYPE), _set(_oid(TST_INFO))),
            _sequence(_oid(MESSAGE_DIGEST), _set(_octets(hashlib.sha256(info).digest()))),
            _sequence(
                _oid(SIGNING_CERTIFICATE_V2),
                _set(_sequence(_sequence(_sequence(_octets(hashlib.sha256(certificate).digest()))))),
            ),
        ]
        signature = self._key.sign(_set(*attributes), ec.ECDSA(hashes.SHA256()))
        issuer = self._certificate.issuer.public_bytes()
        signer_info = _sequence(
            _integer(1),
            _sequence(issuer, _integer(self._certificate.serial_number)),
            _algorithm(SHA256),
            _tlv(0xA0, b"".join(sorted(attributes))),
            _algorithm(ECDSA_SHA256, null=False),
            _octets(signature),
        )
        signed_data = _sequence(
            _integer(3),
            _set(_algorithm(SHA256)),
            _sequence(_oid(TST_INFO), _tlv(0xA0, _octets(info))),
            _tlv(0xA0, certificate + self._root.public_bytes(serialization.Encoding.DER)),
            _set(signer_info),
        )
        token = _sequence(_oid(SIGNED_DATA), _tlv(0xA0, signed_data))
        return _sequence(_sequence(_integer(0)), token)
