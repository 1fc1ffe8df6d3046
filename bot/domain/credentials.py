"""C2PA content credentials: is there a manifest, does it still hold, who signed it, and
where in its chain was the image made?

Read locally with c2pa-python (synchronous native code: callers run it in a thread). The
verdict comes from c2pa's validation status codes, not its overall state: that state is
"Invalid" for a certificate that merely expired since, and says nothing of why. A manifest
is never claimed unless the reader found one, and a remote manifest is never fetched unless
its host is allowed.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import c2pa

logger = logging.getLogger(__name__)

Verdict = Literal["intact", "certificate", "altered", "unchecked", "absent"]
# IPTC's terms for media made by a generative model, as C2PA actions record them.
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
    "image/svg+xml",  # c2pa.Reader.get_supported_mime_types() lists it: Easel makes SVGs (--svg)
}
# Failure codes (C2PA specification, "Standard status codes"; c2pa-rs validation_results.rs)
# that prove the file or its manifest changed after signing.
ALTERED = {
    "assertion.dataHash.mismatch": "the image no longer matches its manifest",
    "assertion.bmffHash.mismatch": "the image no longer matches its manifest",
    "assertion.boxesHash.mismatch": "the image no longer matches its manifest",
    "assertion.collectionHash.mismatch": "the image no longer matches its manifest",
    "assertion.hashedURI.mismatch": "the manifest was changed after signing",
    "ingredient.hashedURI.mismatch": "the manifest was changed after signing",
    "ingredient.manifest.mismatch": "an earlier manifest in its chain was changed",
    "ingredient.claimSignature.mismatch": "an earlier manifest in its chain was changed",
    "claimSignature.mismatch": "its signature does not match",
    "assertion.undeclared": "the manifest was changed after signing",
}
# Failure codes about the certificate alone: the hashes still match.
CERTIFICATE = {
    "signingCredential.expired": "certificate expired",
    "signingCredential.ocsp.revoked": "certificate revoked",
    "signingCredential.invalid": "certificate not valid for signing",
    "claimSignature.outsideValidity": "signed outside its certificate's validity",
}
# Failure codes that say what could not be looked at; any other failure code is reported
# as "could not be checked" too, with its code, rather than guessed at.
UNCHECKED = {
    "manifest.inaccessible": "its remote manifest could not be fetched",
    "assertion.inaccessible": "a remote part of its manifest could not be fetched",
    "algorithm.unsupported": "unsupported signature algorithm",
    "com.adobe.prerelease": "pre-release manifest",
}
NOT_FAILURES = {"signingCredential.untrusted"}  # only says "not verified", below
TRUSTED = "signingCredential.trusted"
# Actions an active manifest can record of its parent: "opened in ChatGPT".
LAST_STEPS = {
    "c2pa.opened": "opened in",
    "c2pa.edited": "edited in",
    "c2pa.converted": "converted in",
    "c2pa.resized": "resized in",
    "c2pa.cropped": "cropped in",
    "c2pa.placed": "combined in",
}


@dataclass(frozen=True, kw_only=True)
class Signer:
    """Who a manifest's certificate names (its organisation), and whether that certificate
    chains to a configured trust list; without one, the name is only a claim."""

    name: str
    verified: bool = False

    def describe(self) -> str:
        return (
            f"signed by {self.name} (verified)"
            if self.verified
            else f"claims to be signed by {self.name} (not verified)"
        )

    def brief(self) -> str:
        return f"signed by {self.name}, verified" if self.verified else f"claims to be signed by {self.name}"


@dataclass(frozen=True, kw_only=True)
class Origin:
    """The manifest of the chain that records the image's creation."""

    generator: str | None  # the creating software agent, e.g. "GPT-4o"
    signer: Signer | None
    ai_generated: bool  # a digital source type of trained or composite algorithmic media


@dataclass(frozen=True, kw_only=True)
class ContentCredentials:
    verdict: Verdict
    problems: tuple[str, ...] = ()  # what c2pa reported, in words: "certificate expired"
    signer: Signer | None = None  # of the active manifest
    origin: Origin | None = None
    last_step: str | None = None  # "opened in ChatGPT", when the origin is an earlier manifest

    @property
    def ai_generated(self) -> bool:
        """The manifest chain, still holding, says a generative model made the image."""
        return self.verdict in ("intact", "certificate") and self.origin is not None and self.origin.ai_generated

    def state(self) -> str:
        """The verdict in words: "intact, certificate expired"."""
        problems = "; ".join(dict.fromkeys(self.problems))
        return {
            "intact": "intact",
            "certificate": f"intact, {problems}",
            "altered": f"ALTERED: {problems}",
            "unchecked": f"could not be checked: {problems}",
            "absent": "no manifest",
        }[self.verdict]

    def describe(self) -> str:
        """What a note shows: the verdict, the signer, where the image was made. A manifest
        that is altered or could not be checked has its claims left out."""
        parts = [self.state()]
        if self.verdict in ("intact", "certificate"):
            if self.signer:
                parts.append(self.signer.describe())
            if made := self.made():
                parts.append(made)
        return "; ".join(parts)

    def made(self) -> str | None:
        """ "made with GPT-4o (signed by OpenAI), opened in ChatGPT" """
        if self.origin is None or not (self.origin.generator or self.origin.ai_generated):
            return None
        if self.origin.generator:
            made = f"{'AI-made' if self.ai_generated else 'made'} with {self.origin.generator}"
        else:
            made = "made by a generative model"
        signer = self.origin.signer
        if self.last_step and signer:
            made += f" ({signer.brief()})"
        return f"{made}, {self.last_step}" if self.last_step else made


@dataclass(frozen=True, kw_only=True)
class ReadingOptions:
    """How c2pa reads: the trust list (PEM) that verifies signers, and the hosts remote
    manifests may be fetched from (none: never fetched)."""

    trust_anchors: str | None = None
    remote_manifest_hosts: tuple[str, ...] = ()

    def context(self) -> c2pa.Context:
        settings: dict[str, Any] = {
            # c2pa fetches a manifest from whatever URL a file names, unless told not to.
            "verify": {"remote_manifest_fetch": bool(self.remote_manifest_hosts)},
            "core": {"allowed_network_hosts": list(self.remote_manifest_hosts), "allow_redirects": False},
        }
        if self.trust_anchors:
            settings["trust"] = {"trust_anchors": self.trust_anchors}
            settings["verify"]["verify_trust"] = True
        return c2pa.Context(settings=c2pa.Settings.from_dict(settings))


def read_credentials(data: bytes, mime_type: str, *, options: ReadingOptions | None = None) -> ContentCredentials:
    """The C2PA state of `data`; never raises (what could not be checked says so)."""
    if mime_type not in READABLE:
        return unchecked("not a file type C2PA is read from")
    if not data:
        return unchecked("empty file")
    try:
        reader = c2pa.Reader.try_create(mime_type, io.BytesIO(data), context=(options or ReadingOptions()).context())
    except c2pa.C2paError as error:
        return _unreadable(error)
    if reader is None:
        return ContentCredentials(verdict="absent")
    try:
        with reader:
            report: dict[str, Any] = json.loads(reader.json())
    except (c2pa.C2paError, ValueError) as error:
        return _unreadable(error)
    return _summarise(report)


class CredentialReader:
    """Reads credentials off the event loop, within a time limit: a remote manifest, when its
    host is allowed, is fetched during the read."""

    def __init__(self, options: ReadingOptions | None = None, *, timeout: float = 10.0) -> None:
        self._options = options or ReadingOptions()
        self._timeout = timeout

    async def read(self, data: bytes, mime_type: str) -> ContentCredentials:
        reading = asyncio.to_thread(read_credentials, data, mime_type, options=self._options)
        try:
            return await asyncio.wait_for(reading, self._timeout)
        except TimeoutError:
            logger.warning("C2PA reading took longer than %.0fs", self._timeout)
            return unchecked("reading its manifest took too long")


def unchecked(reason: str) -> ContentCredentials:
    return ContentCredentials(verdict="unchecked", problems=(reason,))


def _unreadable(error: Exception) -> ContentCredentials:
    """A manifest c2pa could not even build a report for: remote, unsupported, or damaged."""
    message = str(error)
    logger.info("C2PA manifest could not be read: %s", message[:200])
    if message.startswith("Remote: must fetch"):
        return unchecked("its manifest is stored remotely, and remote manifests are not fetched")
    if message.startswith(("Remote", "RemoteManifest")):
        return unchecked("its remote manifest could not be fetched")
    if isinstance(error, c2pa.C2paError.NotSupported):
        return unchecked("unsupported file or manifest")
    if "prerelease" in message.lower():
        return unchecked("pre-release manifest")
    return unchecked("damaged or unreadable manifest")


def _summarise(report: dict[str, Any]) -> ContentCredentials:
    """The verdict from the report's status codes, then the signer and the chain's origin."""
    failures, successes = _codes(report)
    problems = _problems(failures)
    manifests: dict[str, Any] = report.get("manifests") or {}
    active_label = str(report.get("active_manifest") or "")
    active = manifests.get(active_label, {})
    signer = _signer(active, verified=TRUSTED in successes.get(active_label, set()))
    origin_label = _origin_label(manifests, active_label)
    origin = None
    last_step = None
    if origin_label is not None:
        manifest = manifests[origin_label]
        origin = Origin(
            generator=_creating_agent(manifest) or _generator(manifest),
            signer=_signer(manifest, verified=TRUSTED in successes.get(origin_label, set())),
            ai_generated=_ai_source(manifest),
        )
        if origin_label != active_label:
            last_step = _last_step(active)
    for verdict in ("altered", "unchecked", "certificate"):
        if problems[verdict]:
            return ContentCredentials(
                verdict=verdict, problems=tuple(problems[verdict]), signer=signer, origin=origin, last_step=last_step
            )
    return ContentCredentials(verdict="intact", signer=signer, origin=origin, last_step=last_step)


def _codes(report: dict[str, Any]) -> tuple[list[str], dict[str, set[str]]]:
    """Failure codes of the active manifest and of the ingredients' deltas, and the success
    codes by the manifest their URL names (so a trusted parent is told from its child)."""
    results = report.get("validation_results") or {}
    groups = [results.get("activeManifest") or {}]
    groups += [delta.get("validationDeltas") or {} for delta in results.get("ingredientDeltas") or []]
    if not results:  # older reports: a flat list of (failure) statuses
        groups = [{"failure": report.get("validation_status") or []}]
    failures = [str(status.get("code")) for group in groups for status in group.get("failure") or []]
    successes: dict[str, set[str]] = {}
    for group in groups:
        for status in group.get("success") or []:
            successes.setdefault(_manifest_of(str(status.get("url") or "")), set()).add(str(status.get("code")))
    return failures, successes


def _manifest_of(url: str) -> str:
    """`self#jumbf=/c2pa/urn:c2pa:…/c2pa.signature` → `urn:c2pa:…`"""
    path = url.split("jumbf=", 1)[-1].strip("/").split("/")
    return path[1] if len(path) > 1 and path[0] == "c2pa" else ""


def _problems(failures: Iterable[str]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {"altered": [], "unchecked": [], "certificate": []}
    for code in failures:
        if code in NOT_FAILURES:
            continue
        if code in ALTERED:
            problems["altered"].append(ALTERED[code])
        elif code in CERTIFICATE:
            problems["certificate"].append(CERTIFICATE[code])
        else:
            problems["unchecked"].append(UNCHECKED.get(code, f"c2pa reported {code}"))
    return problems


def _signer(manifest: dict[str, Any], *, verified: bool) -> Signer | None:
    info = manifest.get("signature_info") or {}
    name = info.get("issuer") or info.get("common_name")
    return Signer(name=str(name), verified=verified) if name else None


def _origin_label(manifests: dict[str, Any], active: str) -> str | None:
    """Walk from the active manifest through its ingredients (parents first) to the first
    manifest that records a creation; None when no manifest of the chain does."""
    for label in _chain(manifests, active):
        manifest = manifests[label]
        if _ai_source(manifest) or any(action.get("action") == "c2pa.created" for action in _actions(manifest)):
            return label
    return None


def _chain(manifests: dict[str, Any], start: str) -> Iterator[str]:
    seen: set[str] = set()
    queue = [start]
    while queue:
        label = queue.pop(0)
        if label in seen or label not in manifests:
            continue
        seen.add(label)
        yield label
        ingredients = manifests[label].get("ingredients") or []
        ordered = sorted(ingredients, key=lambda ingredient: ingredient.get("relationship") != "parentOf")
        queue += [str(ingredient["active_manifest"]) for ingredient in ordered if ingredient.get("active_manifest")]


def _actions(manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for assertion in manifest.get("assertions") or []:
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            yield from (assertion.get("data") or {}).get("actions") or []


def _ai_source(manifest: dict[str, Any]) -> bool:
    return any(str(action.get("digitalSourceType", "")).endswith(AI_SOURCE_TYPES) for action in _actions(manifest))


def _creating_agent(manifest: dict[str, Any]) -> str | None:
    """The software agent of the manifest's `c2pa.created` action (how a generator names itself)."""
    for action in _actions(manifest):
        agent = action.get("softwareAgent")
        if action.get("action") == "c2pa.created" and agent:
            return str(agent.get("name") if isinstance(agent, dict) else agent) or None
    return None


def _generator(manifest: dict[str, Any]) -> str | None:
    info = manifest.get("claim_generator_info") or []
    name = info[0].get("name") if isinstance(info, list) and info and isinstance(info[0], dict) else None
    return str(name or manifest.get("claim_generator") or "") or None


def _last_step(active: dict[str, Any]) -> str | None:
    """ "opened in ChatGPT": the active manifest's first action and the tool that signed it."""
    tool = _generator(active)
    for action in _actions(active):
        verb = LAST_STEPS.get(str(action.get("action")))
        if verb:
            return f"{verb} {tool}" if tool else verb
    return None
