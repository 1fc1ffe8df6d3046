"""Benchmark reading C2PA credentials: how long one image's read takes, per shape and format.

Each shape is signed for real by the test signer (tests/fakes/c2pa_signing.py) on a grainy
1024x1024 gradient (about 1.5 MB as PNG, the size of a medium-quality output), then read
`--reads` times with `read_credentials` (the native work, in this thread), and through
`CredentialReader.read` (what the bot awaits: the same work in a worker thread).

    .venv/bin/python -m bench.bench_credentials [--reads 50]

Prints a table and writes bench/results/credentials.json.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from bench.bench_imagine import summary
from bot.domain.credentials import CredentialReader, read_credentials
from tests.fakes.c2pa_signing import alter_content, chatgpt_chain, sign, sign_remote, sign_then_expire

RESULTS = Path(__file__).resolve().parent / "results" / "credentials.json"
FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


def noisy_image(image_format: str) -> bytes:
    """A 1024x1024 gradient with grain: about 1.5 MB as PNG, like a medium-quality output."""
    rng = random.Random(7)
    image = Image.new("RGB", (1024, 1024))
    image.putdata(
        [
            (x // 4 + rng.randrange(8), y // 4 + rng.randrange(8), 128 + rng.randrange(8))
            for y in range(1024)
            for x in range(1024)
        ]
    )
    buffer = io.BytesIO()
    image.save(buffer, image_format, **({"quality": 90} if image_format != "PNG" else {}))
    return buffer.getvalue()


def shapes(mime_type: str, data: bytes) -> dict[str, bytes]:
    fresh = sign(data, mime_type, model="gpt-image-1-mini")
    return {
        "no manifest": data,
        "fresh": fresh,
        "chain (ChatGPT)": chatgpt_chain(data, mime_type),
        "expired": sign_then_expire([(data, mime_type)], model="gpt-image-1-mini")[0],
        "altered": alter_content(fresh),
        "remote (not fetched)": sign_remote(data, mime_type, model="m", url="http://127.0.0.1:9/m.c2pa")[0],
    }


def timed(read: Callable[[], object], reads: int) -> list[float]:
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        read()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def timed_async(reader: CredentialReader, data: bytes, mime_type: str, reads: int) -> list[float]:
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        await reader.read(data, mime_type)
        times.append((time.perf_counter() - started) * 1000)
    return times


def run(reads: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    reader = CredentialReader()
    for mime_type, image_format in FORMATS.items():
        for shape, data in shapes(mime_type, noisy_image(image_format)).items():
            verdict = read_credentials(data, mime_type).verdict
            rows.append(
                {
                    "format": image_format,
                    "shape": shape,
                    "verdict": verdict,
                    "bytes": len(data),
                    "read_ms": summary(timed(lambda d=data, m=mime_type: read_credentials(d, m), reads)),  # type: ignore[misc]
                    "awaited_ms": summary(asyncio.run(timed_async(reader, data, mime_type, reads))),
                }
            )
    return {"machine": platform.platform(), "cpus": os.cpu_count(), "reads": reads, "rows": rows}


def print_table(result: dict[str, Any]) -> None:
    print(f"{'format':<6}{'shape':<22}{'verdict':<12}{'MB':>6}{'p50 ms':>9}{'p99 ms':>9}{'awaited p50':>13}")
    for row in result["rows"]:
        print(
            f"{row['format']:<6}{row['shape']:<22}{row['verdict']:<12}{row['bytes'] / 1e6:>6.2f}"
            f"{row['read_ms']['p50']:>9.1f}{row['read_ms']['p99']:>9.1f}{row['awaited_ms']['p50']:>13.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=50, help="reads per shape and format")
    args = parser.parse_args()
    result = run(args.reads)
    print_table(result)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")


if __name__ == "__main__":
    main()
