"""Input images, made acceptable to the Images API (Pillow on bytes, no Slack, no I/O).

Files the API takes as they are (PNG, JPEG, WebP, upright, not too big) pass through
untouched, so any provenance they carry reaches the model. Everything else is converted to
PNG: HEIC/HEIF, GIF (first frame), BMP, TIFF, CMYK or palette images, EXIF-rotated photos,
and images larger than the API accepts.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from bot.errors import InputRejected

pillow_heif.register_heif_opener()

MAX_INPUT_BYTES = 50 * 1024 * 1024  # the Images API's limit per input image
MAX_SIDE = 4096  # larger inputs are downscaled; the model works at 1536 px at most anyway
# Refused from the header, before a pixel is decoded: a 48-megapixel phone photo fits; one
# image at the limit decodes to about 200 MB as RGBA, and a request never decodes more than
# REQUEST_PIXEL_BUDGET in all (one image at a time, in a bounded pool).
MAX_PIXELS = 50_000_000
REQUEST_PIXEL_BUDGET = 100_000_000
PASS_THROUGH = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
PASS_THROUGH_MODES = {"RGB", "RGBA", "L", "LA"}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True, kw_only=True)
class ImageHeader:
    """What a file's header says, read without decoding its pixels."""

    name: str
    size: tuple[int, int]
    format: str
    may_be_transparent: bool

    @property
    def pixels(self) -> int:
        return self.size[0] * self.size[1]


@dataclass(frozen=True, kw_only=True)
class InputImage:
    """An image ready to send: its name, bytes, MIME type and pixel size."""

    name: str
    data: bytes
    mime_type: str
    size: tuple[int, int]
    converted: bool  # True when the bytes are not the file as shared


def read_header(name: str, data: bytes) -> ImageHeader:
    """The file's size and format from its header alone; raise `InputRejected` naming the file
    when it is empty, not an image, or has more pixels than Easel decodes. Every attachment and
    every mask goes through here before anything else looks at it."""
    if not data:
        raise InputRejected(f"`{name}` is empty", fragment=name)
    try:
        # Pillow itself refuses above 179 megapixels (and warns above 89): a lower limit follows.
        with Image.open(io.BytesIO(data)) as image:
            header = ImageHeader(
                name=name,
                size=image.size,
                format=image.format or "",
                may_be_transparent=image.mode in _ALPHA_MODES or "transparency" in image.info,
            )
    except Image.DecompressionBombError:
        raise InputRejected(f"`{name}` is too large to process safely", fragment=name) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InputRejected(f"`{name}` is not an image I can read (or it is damaged)", fragment=name) from None
    if header.pixels > MAX_PIXELS:
        width, height = header.size
        raise InputRejected(
            f"`{name}` is {width}x{height} pixels, too large to process (at most {MAX_PIXELS // 1_000_000} megapixels)",
            fragment=name,
        )
    return header


def within_budget(headers: list[ImageHeader]) -> None:
    """Refuse a request whose images together have more pixels than one request may decode."""
    total = sum(header.pixels for header in headers)
    if total > REQUEST_PIXEL_BUDGET:
        raise InputRejected(
            f"these images have {total / 1_000_000:.0f} megapixels together; one edit takes at most "
            f"{REQUEST_PIXEL_BUDGET // 1_000_000}, so attach fewer or smaller ones"
        )


def prepare_input(name: str, data: bytes) -> InputImage:
    """Return `data` as the API can take it, or raise `InputRejected` naming the file."""
    read_header(name, data)
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            image_format = image.format or ""
            oriented = image.getexif().get(_EXIF_ORIENTATION, 1) in (None, 1)
            if (
                image_format in PASS_THROUGH
                and image.mode in PASS_THROUGH_MODES
                and oriented
                and max(width, height) <= MAX_SIDE
                and len(data) < MAX_INPUT_BYTES
            ):
                _verify(data)  # a truncated or corrupt file fails here, not at the API
                return InputImage(
                    name=name, data=data, mime_type=PASS_THROUGH[image_format], size=(width, height), converted=False
                )
            converted = _to_png(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InputRejected(f"`{name}` is not an image I can read (or it is damaged)", fragment=name) from None
    stem = name.rsplit(".", 1)[0] or "image"
    return InputImage(
        name=f"{stem}.png", data=converted.getvalue(), mime_type="image/png", size=_png_size(converted), converted=True
    )


def _verify(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.verify()


def _to_png(image: Image.Image) -> io.BytesIO:
    image.seek(0)  # GIF and other animations: the first frame
    if image.format == "JPEG":
        image.draft(image.mode, (MAX_SIDE, MAX_SIDE))  # decode at 1/2, 1/4 or 1/8 scale where that is enough
    # One full-size copy at most: convert only when the mode differs, and scale down before
    # turning upright, in place.
    mode = "RGBA" if image.mode in _ALPHA_MODES or "transparency" in image.info else "RGB"
    picture = image if image.mode == mode else image.convert(mode)
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    ImageOps.exif_transpose(picture, in_place=True)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=6)
    return buffer


def _png_size(buffer: io.BytesIO) -> tuple[int, int]:
    with Image.open(buffer) as image:
        return image.size


def has_transparency(header: ImageHeader, data: bytes) -> bool:
    """True for an image with at least one transparent pixel: usable as a mask. Only an image
    whose header allows transparency is decoded, and only its alpha channel is kept."""
    if not header.may_be_transparent:
        return False
    try:
        with Image.open(io.BytesIO(data)) as image:
            alpha = image.getchannel("A") if "A" in image.getbands() else image.convert("RGBA").getchannel("A")
            low = alpha.getextrema()[0]
            return isinstance(low, int) and low < 255
    except (UnidentifiedImageError, OSError, ValueError):
        return False


def fit_mask(name: str, data: bytes, size: tuple[int, int], *, original_size: tuple[int, int]) -> bytes:
    """The mask as a PNG of `size` (the first image as sent). A mask drawn at the first image's
    original size follows it through any downscaling; any other size is refused."""
    try:
        with Image.open(io.BytesIO(data)) as mask:
            if mask.size not in (size, original_size):
                raise InputRejected(
                    f"the mask `{name}` is {mask.size[0]}x{mask.size[1]} but the image is "
                    f"{original_size[0]}x{original_size[1]}; they must be the same size",
                    fragment=name,
                )
            fitted = mask.convert("RGBA")
            if fitted.size != size:
                fitted = fitted.resize(size, Image.Resampling.NEAREST)
    except (UnidentifiedImageError, OSError):
        raise InputRejected(f"the mask `{name}` is not an image I can read", fragment=name) from None
    buffer = io.BytesIO()
    fitted.save(buffer, "PNG", optimize=True)
    if len(buffer.getvalue()) >= 4 * 1024 * 1024:
        raise InputRejected(f"the mask `{name}` is over 4 MB even as a PNG", fragment=name)
    return buffer.getvalue()


def closest_size(size: tuple[int, int]) -> str:
    """The output size whose shape is closest to the input's: square, landscape or portrait."""
    width, height = size
    ratio = width / height
    candidates = {"1024x1024": 1.0, "1536x1024": 1.5, "1024x1536": 2 / 3}
    return min(candidates, key=lambda candidate: abs(candidates[candidate] - ratio) / candidates[candidate])
