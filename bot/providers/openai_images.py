"""The Images API on OpenAI or Azure OpenAI, behind `ImageProvider`.

Both hosts speak the same API through the same client class family, so one implementation
serves both; `bot.providers.factory` picks the client.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

import httpx2
import openai
from openai import AsyncOpenAI, AsyncStream, omit
from openai.types import (
    ImageEditCompletedEvent,
    ImageEditPartialImageEvent,
    ImageEditStreamEvent,
    ImageGenCompletedEvent,
    ImageGenPartialImageEvent,
    ImageGenStreamEvent,
    ImagesResponse,
)

from bot import metrics
from bot.errors import (
    ModelBlocked,
    ModelRetired,
    OutputNotAvailable,
    ProviderAuthFailed,
    ProviderError,
    ProviderIncomplete,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)
from bot.providers.base import GeneratedImage, ImageCall, PreviewSink, ProviderResult, RemoteProvenance, Usage
from bot.providers.retry import RetryPolicy, parse_retry_after

logger = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

# OpenAI bills each streamed partial image as 100 extra image output tokens.
PREVIEW_OUTPUT_TOKENS = 100
REACHABLE_TIMEOUT = 10.0  # seconds for the start-up probe
_BLOCKED_CODES = {"moderation_blocked", "content_policy_violation", "content_filter"}
_OUTPUT_PARAMETERS = {"output_format", "frame_count", "frame_duration_ms", "svg"}
_MISSING_MODEL_CODES = {"model_not_found", "DeploymentNotFound", "deployment_not_found"}


class OpenAIImageProvider:
    """`ImageProvider` over an `AsyncOpenAI` or `AsyncAzureOpenAI` client (retries off)."""

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        name: str,
        timeout_seconds: float,
        retry: RetryPolicy,
        stream: bool = False,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self._client = client
        self._stream = stream
        self._timeout = timeout_seconds
        self._retry = retry
        self._sleep = sleep

    async def generate(self, call: ImageCall, on_preview: PreviewSink | None = None) -> ProviderResult:
        fields = _fields(call)
        if self._streams(call):

            async def streamed() -> ProviderResult:
                stream = await self._client.images.generate(**fields, stream=True, partial_images=call.partial_images)
                return await _collect(stream, call=call, on_preview=on_preview)

            return await self._with_retries(streamed, model=call.model)

        async def request() -> ImagesResponse:
            response: ImagesResponse = await self._client.images.generate(**fields, n=call.n)
            return response

        return _to_result(
            await self._with_retries(request, model=call.model, output_format=call.output_format), call=call
        )

    async def edit(self, call: ImageCall, on_preview: PreviewSink | None = None) -> ProviderResult:
        if not call.images:
            raise ValueError("an edit needs at least one source image")
        images = [(image.name, image.data, image.mime_type) for image in call.images]
        fields = {
            **_fields(call),
            "image": images if len(images) > 1 else images[0],
            "mask": ("mask.png", call.mask, "image/png") if call.mask is not None else omit,
        }
        if self._streams(call):

            async def streamed() -> ProviderResult:
                stream = await self._client.images.edit(**fields, stream=True, partial_images=call.partial_images)
                return await _collect(stream, call=call, on_preview=on_preview)

            return await self._with_retries(streamed, model=call.model)

        async def request() -> ImagesResponse:
            response: ImagesResponse = await self._client.images.edit(**fields, n=call.n)
            return response

        return _to_result(
            await self._with_retries(request, model=call.model, output_format=call.output_format), call=call
        )

    def _streams(self, call: ImageCall) -> bool:
        """Partial images carry no index, so only single images are streamed; GIF and SVG
        output is never streamed (image_generate_params.py)."""
        animated_or_vector = call.output_format in ("gif", "svg")
        return call.n == 1 and not animated_or_vector and (self._stream or call.partial_images > 0)

    async def check_model(self, model: str) -> date | None:
        """Look the model up without generating anything (so without a charge). OpenAI's
        models endpoint carries `shutdown_date` once a shutdown is announced
        (developers.openai.com/api/docs/deprecations); Azure's data plane has no lookup."""
        if isinstance(self._client, openai.AsyncAzureOpenAI):
            await self._probe_azure_deployment(model)
            return None
        try:
            found = await self._client.models.retrieve(model, timeout=30)
        except openai.OpenAIError as exc:
            raise map_error(exc, model=model, timeout=30) from exc
        try:
            return date.fromisoformat(found.shutdown_date) if found.shutdown_date else None
        except ValueError:
            logger.warning("the models endpoint gave %r an unreadable shutdown date", model)
            return None

    async def check_reachable(self) -> None:
        """A model listing (free, generates nothing) through the same HTTP stack, proxies and all."""
        try:
            await self._client.models.list(timeout=REACHABLE_TIMEOUT)
        except (openai.APIStatusError, openai.APIResponseValidationError):
            return  # it answered
        except openai.OpenAIError as exc:
            raise map_error(exc, model="", timeout=REACHABLE_TIMEOUT) from exc

    async def check_provenance(self, image: GeneratedImage) -> RemoteProvenance | None:
        """OpenAI's content provenance check (C2PA and SynthID); None when it fails, since
        a missing check must never read as a verdict."""
        upload = (f"image.{image.output_format}", image.data, image.mime_type)
        try:
            check = await self._client.content_provenance_checks.create(file=upload, timeout=60)
        except openai.OpenAIError as exc:
            logger.warning("provenance check failed: %s", type(exc).__name__)
            return None
        c2pa, synthid = "not checked", "not checked"
        for result in check.results:
            outcome = result.outcome.replace("_", " ")
            if result.type == "c2pa":
                c2pa = f"{outcome} ({result.validation_state})"
            else:
                synthid = outcome
        return RemoteProvenance(c2pa=c2pa, synthid=synthid)

    async def close(self) -> None:
        await self._client.close()

    async def _probe_azure_deployment(self, deployment: str) -> None:
        """Azure has no model lookup on the data plane: send `n=0`, which is refused with a
        400 only after the key and deployment were accepted, and generates nothing."""
        try:
            await self._client.images.generate(model=deployment, prompt="check", n=0, timeout=30)
        except openai.BadRequestError:
            return
        except openai.OpenAIError as exc:
            raise map_error(exc, model=deployment, timeout=30) from exc

    async def _with_retries(self, request: Callable[[], Awaitable[T]], *, model: str, output_format: str = "png") -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await request()
            except ProviderError as broken:  # a stream that broke once open
                metrics.image_api_error(broken)
                raise
            except openai.OpenAIError as exc:
                error = map_error(exc, model=model, timeout=self._timeout, output_format=output_format)
                metrics.image_api_error(error)
                retry_after = getattr(error, "retry_after", None)
                delay = self._retry.delay_before_retry(attempt, retry_after) if _retryable(exc, error) else None
                if delay is None:
                    raise error from exc
                metrics.retried("images")
                logger.warning(
                    "image call failed (%s), retrying in %.1fs (attempt %d of %d)",
                    type(error).__name__,
                    delay,
                    attempt + 1,
                    self._retry.max_attempts,
                )
                await self._sleep(delay)


def _fields(call: ImageCall) -> dict[str, Any]:
    """What every image request sends, streamed or not; a GIF's frames (openai
    `types/image_generate_params.py`: `frame_count`, `frame_duration_ms`)."""
    animation = {}
    if call.output_format == "gif":
        animation = {
            "frame_count": call.frame_count if call.frame_count is not None else omit,
            "frame_duration_ms": call.frame_duration_ms if call.frame_duration_ms is not None else omit,
        }
    return {
        **animation,
        "model": call.model,
        "prompt": call.prompt,
        "size": call.size,
        "quality": call.quality,
        "output_format": call.output_format,
        "background": call.background if call.background is not None else omit,
        "safety_identifier": call.safety_identifier,
    }


def _retryable(exc: openai.OpenAIError, error: ProviderError) -> bool:
    if isinstance(error, ProviderRateLimited):
        return not error.quota_exhausted
    if isinstance(exc, openai.APITimeoutError):
        # A connect timeout never reached the server; a read timeout may already be billed.
        return isinstance(exc.__cause__, httpx2.ConnectTimeout)
    if isinstance(exc, openai.APIConnectionError):
        return isinstance(exc.__cause__, httpx2.ConnectError)
    return isinstance(error, ProviderUnavailable)


def map_error(exc: openai.OpenAIError, *, model: str, timeout: float, output_format: str = "png") -> ProviderError:
    """Turn an OpenAI/Azure client exception into the domain's `ProviderError` tree. A GIF or
    SVG request refused for its format (a 403, or a 400 naming an output parameter) is a
    missing preview access, not a bad key or a bad request."""
    if isinstance(exc, openai.APITimeoutError):
        return ProviderTimeout(timeout)
    if isinstance(exc, openai.APIConnectionError):
        return ProviderUnavailable()
    if not isinstance(exc, openai.APIStatusError):
        return ProviderUnavailable()
    codes = _error_codes(exc)
    if codes & _BLOCKED_CODES:
        return ModelBlocked()
    if codes & _MISSING_MODEL_CODES or isinstance(exc, openai.NotFoundError):
        return ModelRetired(model)
    body = exc.body if isinstance(exc.body, dict) else {}
    param = body.get("param") if isinstance(body.get("param"), str) else None
    if output_format in ("gif", "svg") and (
        isinstance(exc, openai.PermissionDeniedError) or param in _OUTPUT_PARAMETERS
    ):
        return OutputNotAvailable(output_format, model=model)
    if isinstance(exc, openai.RateLimitError):
        return ProviderRateLimited(
            retry_after=parse_retry_after(dict(exc.response.headers)),
            quota_exhausted="insufficient_quota" in codes,
        )
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return ProviderAuthFailed()
    if exc.status_code >= 500:
        return ProviderUnavailable(status=exc.status_code)
    return ProviderRejected(param=param, code=next(iter(sorted(codes)), None))


def _error_codes(exc: openai.APIError) -> set[str]:
    """Every `code` in the error body, including Azure's `inner_error`/`innererror`."""
    codes: set[str] = set()
    if isinstance(exc.code, str):
        codes.add(exc.code)
    body = exc.body if isinstance(exc.body, dict) else {}
    for key in ("inner_error", "innererror"):
        inner = body.get(key)
        if isinstance(inner, dict) and isinstance(inner.get("code"), str):
            codes.add(inner["code"])
    if isinstance(body.get("code"), str):
        codes.add(body["code"])
    return codes


async def _collect(
    stream: AsyncStream[ImageGenStreamEvent] | AsyncStream[ImageEditStreamEvent],
    *,
    call: ImageCall,
    on_preview: PreviewSink | None,
) -> ProviderResult:
    """The completed event of an image stream, with previews handed on as they come. A
    stream that ends (or breaks) without it reached the service, so it is reported, never
    silently sent again. Each preview is billed as extra output tokens."""
    completed: ImageGenCompletedEvent | ImageEditCompletedEvent | None = None
    previews = 0
    try:
        async for event in stream:
            if isinstance(event, ImageGenCompletedEvent | ImageEditCompletedEvent):
                completed = event
            elif isinstance(event, ImageGenPartialImageEvent | ImageEditPartialImageEvent):
                previews += 1
                if on_preview is not None:
                    await _show_preview(on_preview, base64.b64decode(event.b64_json))
    except openai.APIError as exc:
        # An error event once the stream is open: the request reached the service, so it is
        # never retried; a safety block is still a block (and a strike).
        if _error_codes(exc) & _BLOCKED_CODES:
            raise ModelBlocked() from exc
        raise ProviderIncomplete() from exc
    except httpx2.HTTPError as exc:
        raise ProviderIncomplete() from exc
    if completed is None:
        raise ProviderIncomplete()
    details = completed.usage.input_tokens_details
    return ProviderResult(
        model=call.model,
        images=(GeneratedImage(data=base64.b64decode(completed.b64_json), output_format=completed.output_format),),
        size=completed.size,
        quality=completed.quality,
        usage=Usage(
            input_text_tokens=details.text_tokens,
            input_image_tokens=details.image_tokens,
            output_tokens=completed.usage.output_tokens + previews * PREVIEW_OUTPUT_TOKENS,
        ),
        request_id=stream.response.headers.get("x-request-id") or stream.response.headers.get("apim-request-id"),
    )


async def _show_preview(on_preview: PreviewSink, data: bytes) -> None:
    """A preview is a courtesy: failing to show one must not fail the image."""
    try:
        await on_preview(data)
    except Exception:
        logger.warning("could not show a preview", exc_info=True)


def _to_result(response: ImagesResponse, *, call: ImageCall) -> ProviderResult:
    output_format = response.output_format or call.output_format
    images = tuple(
        GeneratedImage(data=base64.b64decode(item.b64_json), output_format=output_format)
        for item in response.data or ()
        if item.b64_json
    )
    if not images:
        raise ProviderUnavailable()
    usage = None
    if response.usage is not None:
        details = response.usage.input_tokens_details
        # An SVG's author model reports its tokens apart (`svg_usage`); they are counted with
        # the image's text input and output, and charged at those rates (`bot.domain.pricing`).
        svg = response.svg_usage
        usage = Usage(
            input_text_tokens=(details.text_tokens if details else response.usage.input_tokens)
            + (svg.input_tokens if svg else 0),
            input_image_tokens=details.image_tokens if details else 0,
            output_tokens=response.usage.output_tokens + (svg.output_tokens if svg else 0),
        )
    return ProviderResult(
        model=call.model,
        images=images,
        size=response.size or call.size,
        quality=response.quality or call.quality,
        usage=usage,
        request_id=response._request_id,
    )
