"""The narrow interface between Easel and an image model, whoever hosts it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from bot.config import Quality

Background = Literal["transparent", "opaque", "auto"]
OutputFormat = Literal["png", "webp", "jpeg", "gif", "svg"]

MIME_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "svg": "image/svg+xml",
}


@dataclass(frozen=True, kw_only=True)
class SourceImage:
    """An input image for an edit, sent as a `(name, bytes, mime)` part: bare bytes would go
    out as application/octet-stream, which the API refuses."""

    name: str
    data: bytes
    mime_type: str


@dataclass(frozen=True, kw_only=True)
class ImageCall:
    """One Images API request in the provider's own terms: a generation, or an edit when it
    carries source images (the mask, if any, applies to the first)."""

    model: str
    prompt: str
    size: str
    quality: Quality
    n: int
    output_format: OutputFormat
    background: Background | None
    safety_identifier: str
    images: tuple[SourceImage, ...] = ()
    mask: bytes | None = None
    partial_images: int = 0  # previews to stream while a single image renders (0-3)
    frame_count: int | None = None  # GIF output only: 2-16 frames
    frame_duration_ms: int | None = None  # GIF output only: each frame's delay


@dataclass(frozen=True, kw_only=True)
class Usage:
    input_text_tokens: int = 0
    input_image_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, kw_only=True)
class GeneratedImage:
    """Exactly the bytes the provider returned: never re-encoded, so C2PA survives."""

    data: bytes
    output_format: str

    @property
    def mime_type(self) -> str:
        return MIME_TYPES.get(self.output_format, "application/octet-stream")


@dataclass(frozen=True, kw_only=True)
class ProviderResult:
    model: str
    images: tuple[GeneratedImage, ...]
    size: str
    quality: str
    usage: Usage | None
    request_id: str | None


@dataclass(frozen=True, kw_only=True)
class RemoteProvenance:
    """The provider's own server-side check of a file: its C2PA and SynthID findings."""

    c2pa: str  # e.g. "detected (valid)", "not detected (not_present)"
    synthid: str  # "detected" | "not detected"

    def describe(self) -> str:
        return f"OpenAI's check: C2PA {self.c2pa}, SynthID {self.synthid}"


PreviewSink = Callable[[bytes], Awaitable[None]]


class ImageProvider(Protocol):
    """What the domain needs from OpenAI or Azure OpenAI."""

    name: str

    async def generate(self, call: ImageCall, on_preview: PreviewSink | None = None) -> ProviderResult: ...

    async def edit(self, call: ImageCall, on_preview: PreviewSink | None = None) -> ProviderResult: ...

    async def check_model(self, model: str) -> date | None:
        """Raise a `ProviderError` when `model` cannot serve requests; return the shutdown date
        the provider reports for it, when it reports one."""
        ...

    async def check_reachable(self) -> None:
        """Raise `ProviderUnavailable` or `ProviderTimeout` when the service cannot be reached
        at all; any answer, even an error, means it can."""
        ...

    async def check_provenance(self, image: GeneratedImage) -> RemoteProvenance | None:
        """The provider's server-side provenance check, or None when it cannot say."""
        ...

    async def close(self) -> None: ...
