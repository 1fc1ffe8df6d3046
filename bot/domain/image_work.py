"""A small, bounded pool for decoding, converting and drawing images off the event loop.

Threads rather than processes: Pillow releases the GIL while it decodes, resamples and
encodes, and a thread needs no copy of the bytes. The bound is what keeps memory bounded:
at most `workers` images are decoded at once, whatever the number of jobs in flight.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

IMAGE_WORKERS = 2


class ImageWork:
    def __init__(self, workers: int = IMAGE_WORKERS) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="easel-image")

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`work(*args, **kwargs)` in the pool; waits its turn when every worker is busy."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(work, *args, **kwargs)
        )

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
