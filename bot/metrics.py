"""Every Prometheus metric Easel keeps, and the one-line calls that move them.

The rest of the code calls these functions at the moment something happens; only this
module knows metric names and labels. Labels stay bounded: surfaces, outcomes, limits, error
kinds, Slack methods, models and workspaces (an installation has a few); never users,
channels or prompts. The counters belong to the process (`REGISTRY`), served at `/metrics`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

T = TypeVar("T")

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Counter(
    "easel_requests_total",
    "Requests for images, by Slack surface and outcome (served, or refused and why).",
    ["surface", "outcome"],
    registry=REGISTRY,
)
LIMIT_REFUSALS = Counter(
    "easel_limit_refusals_total", "Requests a limit turned away, by limit.", ["limit"], registry=REGISTRY
)
JOBS_FINISHED = Counter(
    "easel_jobs_finished_total",
    "Jobs that ended, by final state and, for failures, the kind of failure.",
    ["state", "reason"],
    registry=REGISTRY,
)
QUEUE_WAIT = Histogram(
    "easel_queue_wait_seconds",
    "From a request's arrival to a worker first taking it up.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900),
    registry=REGISTRY,
)
MODEL_SECONDS = Histogram(
    "easel_model_seconds",
    "One job's call to the Images API, its retries included.",
    ["model"],
    buckets=(1, 2.5, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300),
    registry=REGISTRY,
)
UPLOAD_SECONDS = Histogram(
    "easel_upload_seconds",
    "Posting one image to Slack: upload, share and note.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
    registry=REGISTRY,
)
IMAGE_API_ERRORS = Counter(
    "easel_image_api_errors_total",
    "Failed Images API calls (each attempt), by kind.",
    ["kind"],
    registry=REGISTRY,
)
SLACK_RATE_LIMITED = Counter(
    "easel_slack_rate_limited_total", "429 answers from the Slack Web API, by method.", ["method"], registry=REGISTRY
)
RETRIES = Counter(
    "easel_retries_total",
    "Work tried again: an Images API call, a Slack call, or a job's delivery.",
    ["what"],
    registry=REGISTRY,
)
LEASE_TAKEOVERS = Counter(
    "easel_lease_takeovers_total",
    "Jobs taken up after their worker's lease ran out (a process died or lost the database).",
    registry=REGISTRY,
)
JOBS_QUEUED = Gauge(
    "easel_jobs_queued", "Jobs waiting for a worker, on every replica (read at each scrape).", registry=REGISTRY
)
JOBS_IN_FLIGHT = Gauge("easel_jobs_in_flight", "Jobs this process is working on.", registry=REGISTRY)
SPEND = Counter("easel_spend_usd_total", "Settled cost of images, by workspace.", ["workspace"], registry=REGISTRY)
REFUNDS = Counter(
    "easel_refunds_usd_total",
    "Settled cost given back (images that never reached a thread), by workspace.",
    ["workspace"],
    registry=REGISTRY,
)

# The Slack surface the current request came in through (each request runs in a task of its own).
_surface: ContextVar[str] = ContextVar("easel_surface", default="other")


def set_surface(surface: str) -> None:
    """Requests counted from here to the end of the current task come from `surface`
    (command, message, button, dialog, …)."""
    _surface.set(surface)


def served() -> None:
    """A request became a queued job."""
    REQUESTS.labels(surface=_surface.get(), outcome="served").inc()


def declined_visitor() -> None:
    """Someone of another organisation (Slack Connect) asked; Easel declined."""
    REQUESTS.labels(surface=_surface.get(), outcome="visitor_declined").inc()


def refused(error: Exception) -> None:
    """A request was answered with `error` instead of a job: bad input, a limit, a channel, a
    visitor (`visitor_declined`)."""
    outcome = _snake(type(error).__name__)
    limit = getattr(error, "limit", None)
    if isinstance(limit, str):
        outcome = "limit"
        LIMIT_REFUSALS.labels(limit=_snake(limit)).inc()
    elif outcome in ("bot_paused", "user_paused", "channel_not_allowed"):
        LIMIT_REFUSALS.labels(limit=outcome).inc()
        outcome = "limit"
    REQUESTS.labels(surface=_surface.get(), outcome=outcome).inc()


def job_finished(state: str, *, error: str | None = None) -> None:
    """A job ended; `error` is the kind of failure (an error class name, or `bug:<ref>`)."""
    reason = "none" if error is None else ("bug" if error.startswith("bug:") else _snake(error))
    JOBS_FINISHED.labels(state=state, reason=reason).inc()


def image_api_error(error: Exception) -> None:
    IMAGE_API_ERRORS.labels(kind=_snake(type(error).__name__)).inc()


def retried(what: str) -> None:
    RETRIES.labels(what=what).inc()


def slack_rate_limited(method: str) -> None:
    SLACK_RATE_LIMITED.labels(method=method).inc()


def lease_taken_over(jobs: int = 1) -> None:
    LEASE_TAKEOVERS.inc(jobs)


def spent(workspace: str, micros: int) -> None:
    SPEND.labels(workspace=workspace).inc(micros / 1_000_000)


def refunded(workspace: str, micros: int) -> None:
    REFUNDS.labels(workspace=workspace).inc(micros / 1_000_000)


def waited_in_queue(seconds: float) -> None:
    QUEUE_WAIT.observe(max(seconds, 0.0))


async def timed(histogram: Histogram, work: Awaitable[T]) -> T:
    """Await `work`, observing how long it took (also when it fails)."""
    started = time.perf_counter()
    try:
        return await work
    finally:
        histogram.observe(time.perf_counter() - started)


def exposition() -> bytes:
    """The metrics in Prometheus' text format."""
    return generate_latest(REGISTRY)


def _snake(name: str) -> str:
    """`LimitReached` → `limit_reached`, `images today` → `images_today`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|[^A-Za-z0-9]+", "_", name).strip("_").lower()
