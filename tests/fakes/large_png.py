"""Large PNGs made row by row, so a test can share a 30000x30000 image without holding it.

A solid image compresses to almost nothing (13000x13000 RGBA is about 0.6 MB), which is what
makes such files dangerous: the bytes are small, the decoded pixels are not.
"""

from __future__ import annotations

import struct
import zlib

_COLOUR_TYPES = {"1": (1, 0), "L": (8, 0), "RGB": (8, 2), "RGBA": (8, 6)}  # mode: bit depth, colour type


def solid_png(width: int, height: int, *, mode: str = "RGBA", fill: int = 0) -> bytes:
    """A valid PNG of `width` x `height` whose every byte of pixel data is `fill`."""
    depth, colour_type = _COLOUR_TYPES[mode]
    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    row = b"\x00" + bytes([fill]) * ((width * channels * depth + 7) // 8)  # filter type 0, then the pixels
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)]
    data = b"".join(parts) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
