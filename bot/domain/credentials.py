"""C2PA content credentials: is there a manifest, who signed it, and does it still hold?

Read locally with c2pa-python (synchronous native code: callers run it in a thread). A
manifest is never claimed unless the reader found one.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

import c2pa

logger = logging.getLogger(__name__)

State = Literal["valid", "trusted", "invalid", "absent", "unreadable"]
# IPTC's term for media made by a generative model, as C2PA actions record it.
AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")
READABLE = {
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/heic",
    "image/heif",
    "image/gif",
    "image/tiff",
    "image/avif",
}


@dataclass(frozen=True, kw_only=True)
class ContentCredentials:
    state: State
    issuer: str | None = None  # who signed the manifest (its certificate's organisation)
    generator: str | None = None  # the claim generator, e.g. "OpenAI Images"
    model: str | None = None  # the model the manifest names as the creating agent, if any
    ai_generated: bool = False  # the manifest says a generative model made the content

    def describe(self) -> str:
        """The few words a note shows: "signed by OpenAI, valid"."""
        if self.state == "absent":
            return "no manifest"
        if self.state == "unreadable":
            return "could not be checked"
        signer = f"signed by {self.issuer}, " if self.issuer else ""
        verdict = {"valid": "valid", "trusted": "valid and trusted", "invalid": "INVALID (altered)"}[self.state]
        created = (
            f"; created by {self.model}" if self.model and self.state != "invalid" else ""
        )  # claims of a broken manifest are not repeated
        return signer + verdict + created


def read_credentials(data: bytes, mime_type: str, *, trust_anchors: str | None = None) -> ContentCredentials:
    """The C2PA state of `data`; never raises (a checker failure is reported as such).
    With `trust_anchors` (PEM), a manifest signed under one of them reads as trusted."""
    if mime_type not in READABLE:
        return ContentCredentials(state="unreadable")
    context = None
    if trust_anchors:
        settings = {"trust": {"trust_anchors": trust_anchors}, "verify": {"verify_trust": True}}
        context = c2pa.Context(settings=c2pa.Settings.from_dict(settings))
    try:
        reader = c2pa.Reader.try_create(mime_type, io.BytesIO(data), context=context)
    except c2pa.C2paError as error:
        return _broken(error)
    if reader is None:
        return ContentCredentials(state="absent")
    try:
        with reader:
            report: dict[str, Any] = json.loads(reader.json())
    except (c2pa.C2paError, ValueError) as error:
        return _broken(error)
    return _summarise(report)


def _broken(error: Exception) -> ContentCredentials:
    """A manifest that cannot even be parsed (e.g. a flipped byte in it) is invalid."""
    logger.info("C2PA manifest could not be read: %s", type(error).__name__)
    return ContentCredentials(state="invalid")


def _summarise(report: dict[str, Any]) -> ContentCredentials:
    validation = str(report.get("validation_state") or "").lower()
    state: State = "trusted" if validation == "trusted" else "valid" if validation == "valid" else "invalid"
    manifest = (report.get("manifests") or {}).get(report.get("active_manifest") or "", {})
    signature = manifest.get("signature_info") or {}
    generator_info = manifest.get("claim_generator_info") or [{}]
    generator = generator_info[0].get("name") if isinstance(generator_info, list) and generator_info else None
    return ContentCredentials(
        state=state,
        issuer=signature.get("issuer") or signature.get("common_name"),
        generator=generator or manifest.get("claim_generator"),
        ai_generated=any(source in json.dumps(manifest.get("assertions", [])) for source in AI_SOURCE_TYPES),
        model=_creating_agent(manifest),
    )


def _creating_agent(manifest: dict[str, Any]) -> str | None:
    """The software agent of the manifest's `c2pa.created` action (how a generator names itself)."""
    for assertion in manifest.get("assertions") or []:
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions") or []:
            agent = action.get("softwareAgent")
            if action.get("action") == "c2pa.created" and agent:
                return str(agent.get("name") if isinstance(agent, dict) else agent) or None
    return None
