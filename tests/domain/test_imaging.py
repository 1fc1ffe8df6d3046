"""Regions, masks and input preparation, on real bytes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.domain.imaging import closest_size, fit_mask, has_transparency, prepare_input, read_header
from bot.domain.regions import WORDS, parse_region, region_mask
from bot.errors import InputRejected


def png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, "PNG")
    return buffer.getvalue()


def alpha(mask: bytes, point: tuple[int, int]) -> int:
    with Image.open(io.BytesIO(mask)) as image:
        return int(image.getpixel(point)[3])  # type: ignore[index]


@pytest.mark.parametrize("word", sorted(WORDS))
def test_every_region_word_makes_a_mask_with_a_hole(word: str) -> None:
    mask = region_mask(parse_region(word), (1536, 1024))
    with Image.open(io.BytesIO(mask)) as image:
        assert image.size == (1536, 1024) and image.mode == "RGBA"
        assert image.getchannel("A").getextrema() == (0, 255)


def test_grid_cells_are_columns_then_rows() -> None:
    mask = region_mask(parse_region("c1"), (900, 900))
    assert alpha(mask, (850, 50)) == 0 and alpha(mask, (50, 50)) == 255 and alpha(mask, (850, 850)) == 255


@pytest.mark.parametrize("text", ["d1", "a4", "a1,,zz", "sideways", ""])
def test_bad_regions_are_refused(text: str) -> None:
    with pytest.raises(InputRejected):
        parse_region(text)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1000, 1000), "1024x1024"),
        ((1920, 1080), "1536x1024"),
        ((1080, 1920), "1024x1536"),
        ((1100, 1000), "1024x1024"),
    ],
)
def test_closest_size(size: tuple[int, int], expected: str) -> None:
    assert closest_size(size) == expected


def test_png_jpeg_and_webp_pass_through_untouched() -> None:
    data = png((300, 200))
    prepared = prepare_input("a.png", data)
    assert prepared.data == data and not prepared.converted and prepared.mime_type == "image/png"


def test_palette_images_are_converted() -> None:
    prepared = prepare_input("p.png", png((300, 200), mode="P"))
    assert prepared.converted and prepared.mime_type == "image/png" and prepared.name == "p.png"


def test_a_mask_follows_its_image_through_downscaling() -> None:
    mask = Image.new("RGBA", (6000, 3000), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 3000, 3000))
    buffer = io.BytesIO()
    mask.save(buffer, "PNG")
    fitted = fit_mask("m.png", buffer.getvalue(), (4096, 2048), original_size=(6000, 3000))
    assert alpha(fitted, (100, 100)) == 0 and alpha(fitted, (4000, 100)) == 255


def test_transparency_is_detected() -> None:
    for data, transparent in ((png((10, 10), mode="RGBA"), True), (png((10, 10)), False)):  # RGBA: transparent black
        assert has_transparency(read_header("m.png", data), data) is transparent
