"""A local Images API that speaks OpenAI's and Azure OpenAI's wire format.

Real `openai` clients talk to it over HTTP. It returns real PNG, JPEG and WebP bytes made with
Pillow, streams Server-Sent Events, validates requests the way the real API does for GPT image
models, and answers with queued faults (safety blocks, 429s with Retry-After, 5xx, retired
models, slow answers, cut streams) so every failure path can be exercised.

It knows Easel's model catalog (`bot.domain.catalog`, itself read from the installed `openai`
types and OpenAI's deprecations page): each model's sizes and qualities, and its shutdown, on
the fake's own `today` (a fixed date unless a test sets another, never the wall clock).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from aiohttp import web
from PIL import Image, ImageDraw

from bot.domain.catalog import CATALOG, DEFAULT_MODELS, TOKENS_2_5, TOKENS_2_6
from bot.domain.model_specs import ModelSpec, parse_size
from tests.fakes.c2pa_signing import alter_content, sign
from tests.fakes.loopback import LoopbackServer

# The day the fake lives on unless a test says otherwise: the first day after gpt-image-1-mini's
# shutdown on OpenAI, so the suite exercises the world Easel runs in from then on.
TODAY = date(2026, 12, 1)
FORMATS = {"png", "webp", "jpeg"}
INPUT_MIME_TYPES = {"image/png", "image/jpeg", "image/webp"}
# Output tokens per image by (is square, quality) for gpt-image-1 and mini at the standard sizes
# (OpenAI's image generation guide: 272 / 1056 / 4160 square, 408 / 1584 / 6240 otherwise).
OUTPUT_TOKENS = {
    (True, "low"): 272,
    (True, "medium"): 1056,
    (True, "high"): 4160,
    (False, "low"): 408,
    (False, "medium"): 1584,
    (False, "high"): 6240,
}
# gpt-image-2 and later: the catalog's output tokens of a 1024x1024 image, in proportion to the area.
IMAGE_INPUT_TOKENS = 323


@dataclass
class RecordedFile:
    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class RecordedImageRequest:
    kind: str  # "generate" | "edit"
    path: str
    provider: str  # "openai" | "azure"
    deployment: str | None
    api_version: str | None
    fields: dict[str, Any]
    files: list[RecordedFile]
    headers: dict[str, str]
    received_at: float = 0.0
    answered_at: float = 0.0


@dataclass
class Fault:
    kind: str  # moderation | rate_limit | insufficient_quota | server_error | model_not_found
    # | content_filter | bad_request | slow | stream_cut | stream_blocked | garbled
    retry_after: float | None = None
    delay: float = 0.0
    message: str | None = None


@dataclass
class ProvenanceCheck:
    filename: str | None
    detected: bool


class ApiError(Exception):
    """An error answer in the API's own JSON shape."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def invalid(message: str, param: str | None, code: str = "invalid_value") -> ApiError:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return ApiError(400, {"error": error})


class FakeImagesAPI(LoopbackServer):
    def __init__(self, *, latency: float = 0.0, api_key: str = "sk-test", azure_api_key: str = "az-test") -> None:
        super().__init__()
        self.latency = latency
        self.api_key = api_key
        self.azure_api_key = azure_api_key
        self.requests: list[RecordedImageRequest] = []
        self.outputs: list[bytes] = []
        self.retired_models: set[str] = set()
        self.today = TODAY  # shutdowns in the catalog take effect from their date
        # GIF and SVG need the account's access to the previews (image_generate_params.py).
        self.gif_access = True
        self.svg_access = True
        self.shutdown_dates: dict[str, str] = {}  # announced beyond the catalog, for the models endpoint
        self.azure_model = DEFAULT_MODELS["azure"]  # the model behind every Azure deployment
        self.known_deployments: set[str] | None = None
        self.provenance_checks: list[ProvenanceCheck] = []
        self.sign_outputs = True  # every output carries a C2PA manifest, as OpenAI's do
        self.tamper_outputs = False  # change the file after signing: the manifest no longer validates
        # Credentials of another shape for outputs: (rendered bytes, MIME type, model) -> file.
        self.credentials_shape: Callable[[bytes, str, str], bytes] | None = None
        self._faults: deque[Fault] = deque()

    # -- lifecycle -------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/images/generations", self._openai_images)
        app.router.add_post("/v1/images/edits", self._openai_images)
        app.router.add_get("/v1/models/{model}", self._model)
        app.router.add_post("/v1/content_provenance_checks", self._provenance_check)
        app.router.add_post("/openai/deployments/{deployment}/images/{operation}", self._azure_images)

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    @property
    def azure_endpoint(self) -> str:
        return self.origin

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each image request takes the next one."""
        self._faults.extend(faults)

    # -- handlers --------------------------------------------------------------------------

    async def _openai_images(self, request: web.Request) -> web.StreamResponse:
        kind = "generate" if request.path.endswith("generations") else "edit"
        return await self._images(request, kind=kind, provider="openai", deployment=None, api_version=None)

    async def _azure_images(self, request: web.Request) -> web.StreamResponse:
        operation = request.match_info["operation"]
        if operation not in ("generations", "edits"):
            return web.json_response({"error": {"code": "404", "message": "Resource not found"}}, status=404)
        api_version = request.query.get("api-version")
        if not api_version:
            return web.json_response({"error": {"code": "404", "message": "Resource not found"}}, status=404)
        kind = "generate" if operation == "generations" else "edit"
        deployment = request.match_info["deployment"]
        return await self._images(request, kind=kind, provider="azure", deployment=deployment, api_version=api_version)

    async def _images(
        self, request: web.Request, *, kind: str, provider: str, deployment: str | None, api_version: str | None
    ) -> web.StreamResponse:
        received = time.monotonic()
        fields, files = await _read_body(request, kind)
        record = RecordedImageRequest(
            kind=kind,
            path=request.path,
            provider=provider,
            deployment=deployment,
            api_version=api_version,
            fields=fields,
            files=files,
            headers=dict(request.headers),
            received_at=received,
        )
        self.requests.append(record)
        try:
            self._authenticate(request, provider)
            fault = self._faults.popleft() if self._faults else None
            if fault is not None and fault.kind == "slow":
                await asyncio.sleep(fault.delay)
                fault = None
            if fault is not None and fault.kind == "garbled":
                body = {"created": int(time.time()), "data": [{"b64_json": "abc"}]}  # not base64: a bug's trigger
                return web.json_response(body, headers=_request_headers(provider))
            if fault is not None and fault.kind not in ("stream_cut", "stream_blocked"):
                raise _fault_error(fault)
            model = deployment if provider == "azure" else str(fields.get("model") or "")
            if provider == "azure" and self.known_deployments is not None and model not in self.known_deployments:
                raise ApiError(
                    404,
                    {
                        "error": {
                            "code": "DeploymentNotFound",
                            "message": "The API deployment for this resource does not exist.",
                        }
                    },
                )
            spec = self._spec(self.azure_model if provider == "azure" else model, provider)
            if model in self.retired_models or spec is None:
                raise _model_not_found(model)
            params = _validate(fields, files, kind=kind, provider=provider, spec=spec)
            self._check_access(params["output_format"], model)
            if params["stream"]:
                return await self._stream(request, record, params, kind=kind, fault=fault.kind if fault else None)
            await asyncio.sleep(self.latency)
            images = [self._finish(self._render(params, files, index), params, model) for index in range(params["n"])]
            body = {
                "created": int(time.time()),
                "data": [{"b64_json": base64.b64encode(data).decode()} for data in images],
                "background": params["background"],
                "output_format": params["output_format"],
                "quality": params["quality"],
                "size": params["size"],
                "usage": _usage(params, files),
                **_svg_usage(params),
            }
            self.outputs.extend(images)
            record.answered_at = time.monotonic()
            return web.json_response(body, headers=_request_headers(provider))
        except ApiError as error:
            record.answered_at = time.monotonic()
            return web.json_response(
                error.body, status=error.status, headers={**_request_headers(provider), **error.headers}
            )

    async def _stream(
        self,
        request: web.Request,
        record: RecordedImageRequest,
        params: dict[str, Any],
        *,
        kind: str,
        fault: str | None,
    ) -> web.StreamResponse:
        prefix = "image_generation" if kind == "generate" else "image_edit"
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", **_request_headers(record.provider)}
        )
        await response.prepare(request)
        common = {
            "background": params["background"],
            "created_at": int(time.time()),
            "output_format": params["output_format"],
            "quality": params["quality"],
            "size": params["size"],
        }
        partials = params["partial_images"]
        for index in range(partials):
            await asyncio.sleep(self.latency / (partials + 1))
            preview = self._render({**params, "quality": "low"}, record.files, index, partial=True)
            event = {"type": f"{prefix}.partial_image", "b64_json": _b64(preview), "partial_image_index": index}
            await _send_event(response, f"{prefix}.partial_image", {**event, **common})
        await asyncio.sleep(self.latency / (partials + 1))
        if fault == "stream_blocked":  # output moderation, after the stream began
            error = {"type": "image_generation_user_error", "code": "moderation_blocked", "message": "Blocked."}
            await _send_event(response, "error", {"type": "error", "error": error})
        elif fault is None:
            data = self._finish(self._render(params, record.files, 0), params, str(record.fields.get("model")))
            self.outputs.append(data)
            event = {"type": f"{prefix}.completed", "b64_json": _b64(data), "usage": _usage(params, record.files)}
            await _send_event(response, f"{prefix}.completed", {**event, **common})
        record.answered_at = time.monotonic()
        await response.write_eof()
        return response

    async def _model(self, request: web.Request) -> web.Response:
        try:
            self._authenticate(request, "openai")
        except ApiError as error:
            return web.json_response(error.body, status=error.status)
        model = request.match_info["model"]
        if model in self.retired_models or self._spec(model, "openai") is None:
            return web.json_response(_model_not_found(model).body, status=404)
        # The models endpoint carries an announced shutdown as `shutdown_date`, YYYY-MM-DD
        # (developers.openai.com/api/docs/deprecations; openai `types/model.py`).
        availability = CATALOG[model].providers.get("openai")
        announced = availability.shutdown.isoformat() if availability and availability.shutdown else None
        shutdown = self.shutdown_dates.get(model, announced)
        body = {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": "system"}
        return web.json_response({**body, "shutdown_date": shutdown})

    async def _provenance_check(self, request: web.Request) -> web.Response:
        try:
            self._authenticate(request, "openai")
        except ApiError as error:
            return web.json_response(error.body, status=error.status)
        _, files = await _read_body(request, "edit")
        upload = next((f for f in files if f.field == "file"), None)
        if upload is None:
            return web.json_response(invalid("'file' is required", "file").body, status=400)
        ours = upload.data in self.outputs
        self.provenance_checks.append(ProvenanceCheck(filename=upload.filename, detected=ours))
        signed = ours and self.sign_outputs
        c2pa_state = "not_present" if not signed else "invalid" if self.tamper_outputs else "valid"
        results = [
            {
                "type": "c2pa",
                "outcome": "detected" if signed and not self.tamper_outputs else "not_detected",
                "validation_state": c2pa_state,
                "issuer": "OpenAI (test)" if signed else None,
                "model": None,
            },
            {"type": "synthid", "outcome": "detected" if ours else "not_detected", "model": None},
        ]
        return web.json_response(
            {"object": "content_provenance_check", "created_at": int(time.time()), "results": results}
        )

    # -- helpers ---------------------------------------------------------------------------

    def _check_access(self, output_format: str, model: str) -> None:
        """An account without the preview is refused before anything is made. Neither the SDK
        nor OpenAI's pages show the error: the two shapes Easel recognises are served, a 403
        for GIF and a 400 naming `output_format` for SVG."""
        if output_format == "gif" and not self.gif_access:
            error = {
                "message": f"Your organization does not have access to GIF output for {model}.",
                "type": "invalid_request_error",
                "param": None,
                "code": "permission_denied",
            }
            raise ApiError(403, {"error": error})
        if output_format == "svg" and not self.svg_access:
            raise invalid(f"SVG output is not available for this project on {model}.", "output_format")

    def _spec(self, model: str, provider: str) -> ModelSpec | None:
        """The model as this provider serves it today; None when it does not (any more)."""
        spec = CATALOG.get(model)
        availability = spec.providers.get(provider) if spec else None
        if spec is None or availability is None:
            return None
        if availability.shutdown is not None and availability.shutdown <= self.today:
            return None
        return spec

    def _authenticate(self, request: web.Request, provider: str) -> None:
        bearer = request.headers.get("Authorization", "")
        if provider == "azure":
            if request.headers.get("api-key") == self.azure_api_key or bearer.startswith("Bearer "):
                return
            raise ApiError(
                401,
                {
                    "error": {
                        "code": "401",
                        "message": "Access denied due to invalid subscription key or wrong API endpoint.",
                    }
                },
            )
        if bearer != f"Bearer {self.api_key}":
            raise ApiError(
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
            )

    def _finish(self, data: bytes, params: dict[str, Any], model: str) -> bytes:
        """Sign (and, if asked, spoil) an output the way the real service's would be. GIF and
        SVG outputs are left unsigned: nothing public says OpenAI signs those previews."""
        if params["output_format"] in ("gif", "svg"):
            return data
        mime_type = f"image/{params['output_format']}"
        if self.credentials_shape is not None:
            data = self.credentials_shape(data, mime_type, model)
        elif self.sign_outputs:
            data = sign(data, mime_type, model=model)
        return alter_content(data) if self.tamper_outputs else data

    def _render(self, params: dict[str, Any], files: list[RecordedFile], index: int, *, partial: bool = False) -> bytes:
        """A cheap but real image: a colour from the prompt, or the first input image, tinted."""
        width, height = parse_size(params["size"]) or (1024, 1024)
        if partial:
            width, height = width // 8, height // 8
        seed = hashlib.sha256(f"{params['prompt']}|{index}|{len(self.outputs)}".encode()).digest()
        colour = (seed[0], seed[1], seed[2])
        transparent = params["background"] == "transparent"
        mode = "RGBA" if transparent or params["output_format"] != "jpeg" else "RGB"
        first_input = next((f for f in files if f.field in ("image", "image[]")), None)
        if first_input is not None:
            with Image.open(io.BytesIO(first_input.data)) as source:
                image = source.convert(mode).resize((width, height))
            overlay = Image.new(mode, (width, height), (*colour, 96) if mode == "RGBA" else colour)
            image = Image.blend(image, overlay, 0.25) if mode == "RGB" else Image.alpha_composite(image, overlay)
        else:
            image = Image.new(mode, (width, height), (*colour, 255) if mode == "RGBA" else colour)
        draw = ImageDraw.Draw(image)
        inset = min(width, height) // 4
        draw.ellipse((inset, inset, width - inset, height - inset), fill=(seed[3], seed[4], seed[5]))
        if transparent:
            corner = min(width, height) // 8
            draw.rectangle((0, 0, corner, corner), fill=(0, 0, 0, 0))
        buffer = io.BytesIO()
        output_format = params["output_format"]
        compression = params.get("output_compression")
        if output_format == "gif":  # the circle moves a little each frame: a real animation
            frames = [image.convert("P")]
            for step in range(1, params["frame_count"]):
                frame = image.copy()
                ImageDraw.Draw(frame).ellipse((step * 8, step * 8, inset, inset), fill=(255 - seed[3], 255, 0))
                frames.append(frame.convert("P"))
            frames[0].save(
                buffer, "GIF", save_all=True, append_images=frames[1:], duration=params["frame_duration_ms"], loop=0
            )
        elif output_format == "svg":
            return _svg(width, height, colour, (seed[3], seed[4], seed[5]))
        elif output_format == "png":
            image.save(buffer, "PNG", compress_level=1)
        elif output_format == "jpeg":
            image.convert("RGB").save(buffer, "JPEG", quality=compression if compression is not None else 85)
        else:
            image.save(buffer, "WEBP", quality=compression if compression is not None else 80, method=0)
        return buffer.getvalue()


async def _read_body(request: web.Request, kind: str) -> tuple[dict[str, Any], list[RecordedFile]]:
    if not request.content_type.startswith("multipart/"):
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = {}
        return (body if isinstance(body, dict) else {}), []
    fields: dict[str, Any] = {}
    files: list[RecordedFile] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not hasattr(part, "read"):
            continue
        name = part.name or ""
        if part.filename is not None or name in ("image", "image[]", "mask", "file"):
            data = bytes(await part.read())  # type: ignore[union-attr]
            files.append(RecordedFile(name, part.filename, part.headers.get("Content-Type"), data))
        else:
            value = await part.text()  # type: ignore[union-attr]
            if name in fields:
                existing = fields[name]
                fields[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
            else:
                fields[name] = value
    return fields, files


def _validate(
    fields: dict[str, Any], files: list[RecordedFile], *, kind: str, provider: str, spec: ModelSpec
) -> dict[str, Any]:
    """Check a request as the API does for GPT image models; return normalised parameters."""
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise invalid("'prompt' is required", "prompt", "missing_required_parameter")
    if len(prompt) > 32_000:
        raise invalid("'prompt' is too long: the maximum is 32000 characters", "prompt", "string_above_max_length")
    size = str(fields.get("size") or "auto")
    if spec.sizes.refusal(size) is not None:
        listed = ", ".join(f"'{s}'" for s in spec.sizes.choices())
        raise invalid(f"Invalid value: '{size}'. Supported values are: {listed}.", "size")
    size = "1024x1024" if size == "auto" else size
    quality = str(fields.get("quality") or "auto")
    if quality != "auto" and quality not in spec.qualities:
        listed = ", ".join(f"'{q}'" for q in (*spec.qualities, "auto"))
        raise invalid(f"Invalid value: '{quality}'. Supported values are: {listed}.", "quality")
    quality = "medium" if quality == "auto" else quality
    try:
        n = int(fields.get("n", 1))
    except (TypeError, ValueError):
        raise invalid("'n' must be an integer", "n") from None
    if not 1 <= n <= 10:
        raise invalid(f"Invalid 'n': {n}. Expected a value between 1 and 10.", "n", "integer_out_of_range")
    output_format = str(fields.get("output_format") or "png")
    formats = [*FORMATS, *(["gif"] if spec.gif else []), *(["svg"] if spec.svg else [])]
    if output_format not in formats:
        listed = ", ".join(f"'{f}'" for f in formats)
        raise invalid(f"Invalid value: '{output_format}'. Supported values are: {listed}.", "output_format")
    animation = _animation(fields, output_format, files)
    if provider == "azure" and output_format == "webp":
        raise invalid("The output format 'webp' is not supported on this deployment.", "output_format")
    compression = fields.get("output_compression")
    if compression is not None:
        if output_format == "png":
            raise invalid("'output_compression' is only supported for 'webp' and 'jpeg' output.", "output_compression")
        compression = int(compression)
    background = str(fields.get("background") or "auto")
    if background == "transparent" and output_format == "jpeg":
        raise invalid("Transparent background is only supported for 'png' and 'webp' output.", "background")
    if background == "transparent" and not spec.transparency:
        raise invalid(f"Transparent background is not supported for {spec.id}.", "background")
    stream = str(fields.get("stream", "false")).lower() == "true" or fields.get("stream") is True
    partial_images = int(fields.get("partial_images", 0) or 0)
    if not 0 <= partial_images <= 3:
        raise invalid("'partial_images' must be between 0 and 3.", "partial_images")
    if stream and n != 1:
        raise invalid("Streaming is only supported with n=1.", "n")
    if output_format in ("gif", "svg") and (stream or partial_images or compression is not None):
        raise invalid(f"{output_format.upper()} output does not support streaming or compression.", "output_format")
    if output_format == "svg" and n != 1:
        raise invalid("SVG generation requires n=1.", "n")
    fidelity = fields.get("input_fidelity")
    if fidelity is not None and fidelity not in spec.input_fidelity:
        raise invalid(f"input_fidelity '{fidelity}' is not supported for {spec.id}.", "input_fidelity")
    if kind == "edit":
        _validate_edit_files(files)
    return {
        "prompt": prompt,
        "size": size,
        "quality": quality,
        "n": n,
        "output_format": output_format,
        "output_compression": compression,
        "background": "transparent" if background == "transparent" else "opaque",
        "stream": stream,
        "partial_images": partial_images,
        "model": spec.id,
        **animation,
    }


def _animation(fields: dict[str, Any], output_format: str, files: list[RecordedFile]) -> dict[str, Any]:
    """GIF parameters (image_generate_params.py): `frame_count` 2-16, default 9;
    `frame_duration_ms` default 200, rounded to 10 ms, at most 655,350; no mask; neither for
    any other format."""
    given = {name: fields[name] for name in ("frame_count", "frame_duration_ms") if fields.get(name) is not None}
    if output_format != "gif":
        if given:
            raise invalid(
                "frame_count and frame_duration_ms are only supported with output_format=gif.", next(iter(given))
            )
        return {}
    if any(f.field == "mask" for f in files):
        raise invalid("GIF output does not support masks.", "mask")
    frames = int(given.get("frame_count", 9))
    if not 2 <= frames <= 16:
        raise invalid(f"Invalid 'frame_count': {frames}. Expected a value between 2 and 16.", "frame_count")
    duration = min(round(int(given.get("frame_duration_ms", 200)) / 10) * 10, 655_350)
    return {"frame_count": frames, "frame_duration_ms": duration}


def _validate_edit_files(files: list[RecordedFile]) -> None:
    inputs = [f for f in files if f.field in ("image", "image[]")]
    if not inputs:
        raise invalid("'image' is required", "image", "missing_required_parameter")
    if len(inputs) > 16:
        raise invalid("Too many images: at most 16 are allowed.", "image")
    for upload in inputs:
        if upload.content_type not in INPUT_MIME_TYPES:
            raise invalid(
                f"Invalid file 'image': unsupported mimetype ('{upload.content_type}'). "
                "Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'.",
                "image",
                "invalid_image_file",
            )
        if len(upload.data) >= 50 * 1024 * 1024:
            raise invalid("Image files must be under 50 MB.", "image", "image_too_large")
    mask = next((f for f in files if f.field == "mask"), None)
    if mask is None:
        return
    try:
        with Image.open(io.BytesIO(mask.data)) as mask_image, Image.open(io.BytesIO(inputs[0].data)) as first:
            mask_format, mask_size, first_size = mask_image.format, mask_image.size, first.size
    except OSError:
        raise invalid("Invalid mask image.", "mask", "invalid_image_file") from None
    if mask_format != "PNG":
        raise invalid("The mask must be a PNG image.", "mask", "invalid_image_file")
    if len(mask.data) >= 4 * 1024 * 1024:
        raise invalid("The mask must be under 4 MB.", "mask", "image_too_large")
    if mask_size != first_size:
        raise invalid("Invalid mask: the mask must have the same dimensions as the image.", "mask")


def _fault_error(fault: Fault) -> ApiError:
    if fault.kind == "moderation":
        message = fault.message or "Your request was rejected by the safety system."
        error = {"message": message, "type": "image_generation_user_error", "param": None, "code": "moderation_blocked"}
        return ApiError(400, {"error": error})
    if fault.kind in ("rate_limit", "insufficient_quota"):
        code = "rate_limit_exceeded" if fault.kind == "rate_limit" else "insufficient_quota"
        message = (
            "Rate limit reached for images per minute."
            if code == "rate_limit_exceeded"
            else ("You exceeded your current quota, please check your plan and billing details.")
        )
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        return ApiError(429, {"error": {"message": message, "type": "requests", "param": None, "code": code}}, headers)
    if fault.kind == "server_error":
        error = {
            "message": "The server had an error processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
        return ApiError(500, {"error": error})
    if fault.kind == "model_not_found":
        error = {
            "message": "The model does not exist.",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
        return ApiError(404, {"error": error})
    if fault.kind == "content_filter":
        return ApiError(
            400,
            {
                "error": {
                    "code": "content_policy_violation",
                    "message": "Your request was rejected as a result of our safety system.",
                    "inner_error": {"code": "ResponsibleAIPolicyViolation", "content_filter_results": {}},
                }
            },
        )
    if fault.kind == "bad_request":
        return invalid(fault.message or "Invalid request.", None)
    raise ValueError(f"unknown fault kind {fault.kind!r}")


def _usage(params: dict[str, Any], files: list[RecordedFile]) -> dict[str, Any]:
    """`usage` as the model reports it: gpt-image-2 and later also break the output down
    (openai `types/images_response.py` `output_tokens_details`)."""
    text_tokens = max(1, len(params["prompt"]) // 4)
    image_tokens = IMAGE_INPUT_TOKENS * sum(1 for f in files if f.field in ("image", "image[]"))
    model = params["model"]
    usage: dict[str, Any] = {"input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens}}
    if model.startswith(("gpt-image-1", "chatgpt-image")):
        output_tokens = OUTPUT_TOKENS[(params["size"] == "1024x1024", params["quality"])] * params["n"]
    else:
        width, height = parse_size(params["size"]) or (1024, 1024)
        table = TOKENS_2_6 if model.startswith("gpt-image-2.6") else TOKENS_2_5
        frames = params.get("frame_count", 1)  # a GIF's frames are each an image's tokens
        output_tokens = round(table[params["quality"]] * width * height / (1024 * 1024)) * params["n"] * frames
        usage["output_tokens_details"] = {"image_tokens": output_tokens, "text_tokens": 0}
    return {
        **usage,
        "input_tokens": text_tokens + image_tokens,
        "output_tokens": output_tokens,
        "total_tokens": text_tokens + image_tokens + output_tokens,
    }


def _request_headers(provider: str) -> dict[str, str]:
    request_id = f"req_{uuid.uuid4().hex}"
    headers = {"x-request-id": request_id}
    if provider == "azure":
        headers["apim-request-id"] = str(uuid.uuid4())
    return headers


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def _send_event(response: web.StreamResponse, event: str, data: dict[str, Any]) -> None:
    await response.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())


def _svg_usage(params: dict[str, Any]) -> dict[str, Any]:
    """The SVG author's tokens, apart from the image's (images_response.py `svg_usage`; the
    figures of a published answer, docs.apiyi.com gpt-image-2.6, 2026-11)."""
    if params["output_format"] != "svg":
        return {}
    usage = {"input_tokens": 1572, "output_tokens": 1437, "reasoning_tokens": 994, "total_tokens": 3009}
    return {"svg_usage": {"model": "gpt-5.6-sol", **usage}}


def _svg(width: int, height: int, background: tuple[int, int, int], circle: tuple[int, int, int]) -> bytes:
    """A real, small SVG document of the same picture."""
    radius = min(width, height) // 4
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><rect width="100%" height="100%" fill="rgb{background}"/>'
        f'<circle cx="{width // 2}" cy="{height // 2}" r="{radius}" fill="rgb{circle}"/></svg>'
    ).encode()


def _model_not_found(model: str) -> ApiError:
    """How OpenAI answers for a model that is gone or never was (PLATFORM_NOTES.md)."""
    error = {
        "message": f"The model `{model}` does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "param": None,
        "code": "model_not_found",
    }
    return ApiError(404, {"error": error})
