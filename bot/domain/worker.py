"""The job worker: takes queued jobs from the database under a lease and runs them.

Every replica runs one. A job is claimed atomically (see `JobRepository.claim`), its lease is
renewed while it runs, and a job whose worker died is claimed again once its lease runs out,
by this process after a restart or by any other replica. On shutdown the worker stops
claiming, lets jobs in flight finish within the grace period, and leaves the rest queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from bot import logs, metrics
from bot.domain.announcing import Announcer
from bot.domain.delivery import DeliveryFailed
from bot.domain.grace import finish_within
from bot.domain.model import Clock, ImageJob, JobRecord, JobStatus, Place, utc_now
from bot.domain.owners import host_prefix, is_gone, new_owner_id
from bot.domain.pipeline import Pipeline
from bot.domain.reporter import JobReporter
from bot.domain.sources import FileSource
from bot.errors import JobInterrupted
from bot.storage.event_log import EventLog
from bot.storage.job_records import JobRepository
from bot.storage.leases import LeaseHolders

logger = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 60.0  # at most; with a shorter lease, as often as the lease
EVENT_MEMORY = timedelta(days=1)  # Slack stops retrying an event long before this
POSITION_REFRESH_SECONDS = 15.0  # chat.update is rate limited: a waiting job's position moves slowly
POSITIONS_EVERY_SECONDS = 2.0
POSITIONS_SHOWN = 10  # the first ten waiting requests see their place; the rest see "queued"
ANNOUNCERS = 16  # requests shown at once while they wait for a worker (beside the concurrency)


class JobSurface(Protocol):
    """Where a job shows itself and finds its files (for Easel: its Slack thread)."""

    def reporter(self, job: ImageJob) -> JobReporter: ...

    def files(self, job: ImageJob) -> FileSource | None: ...

    async def announce(self, job: ImageJob, status: JobStatus) -> Place:
        """Show the request (with `status`) where its results will go; returns that place."""
        ...


@dataclass(frozen=True, kw_only=True)
class WorkerPolicy:
    concurrency: int = 8
    lease_seconds: float = 15.0
    poll_seconds: float = 1.0
    images_per_minute: int | None = None
    post_seconds: float = 600.0


class JobWorker:
    def __init__(
        self,
        pipeline: Pipeline,
        repository: JobRepository,
        events: EventLog,
        surface: JobSurface,
        policy: WorkerPolicy,
        *,
        leases: LeaseHolders,
        queued: asyncio.Event,
        clock: Clock = utc_now,
    ) -> None:
        self.owner = new_owner_id()
        self._pipeline = pipeline
        self._queued = queued  # set by the intake whenever a job is queued
        self._repository = repository
        self._leases = leases
        self._events = events
        self._surface = surface
        self._policy = policy
        self._clock = clock
        self._lease = timedelta(seconds=policy.lease_seconds)
        self._announcer = Announcer(pipeline, repository, post_seconds=policy.post_seconds, clock=clock)
        self._running: dict[int, asyncio.Task[None]] = {}
        self._announcing: dict[int, asyncio.Task[None]] = {}  # waiting jobs being shown
        self._shown_positions: dict[int, tuple[int, float]] = {}  # job id: (ahead, when shown)
        self._stopping = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._last_housekeeping = float("-inf")
        self._last_positions = float("-inf")
        self._positions: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.create_task(self._work(), name="job-worker")

    def running(self) -> bool:
        """Started and not stopped (readiness: a replica without a worker queues jobs nobody runs)."""
        return self._loop is not None and not self._loop.done()

    async def stop(self, grace_seconds: float) -> None:
        """Stop claiming; wait up to `grace_seconds` for jobs in flight, then cancel the rest
        (a job cancelled in its model call fails with a message; any other goes back to the
        queue for the next start)."""
        self._stopping.set()
        self._queued.set()
        if self._loop is not None:
            await self._loop
        if self._positions is not None:
            self._positions.cancel()
        await finish_within({*self._running.values(), *self._announcing.values()}, grace_seconds)

    async def _work(self) -> None:
        while not self._stopping.is_set():
            self._queued.clear()
            try:
                await self._claim()
                await self._housekeeping()
            except Exception:
                logger.exception("job worker: could not reach the database; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queued.wait(), timeout=self._policy.poll_seconds)

    async def _claim(self) -> None:
        room = self._policy.concurrency - len(self._running)
        if room > 0:
            claimed = await self._repository.claim(
                self.owner,
                now=self._clock(),
                lease=self._lease,
                limit=room,
                images_per_minute=self._policy.images_per_minute,
                running=[*self._running, *self._announcing],
            )
            for row in claimed:
                self._start(row, self._running)
        room = ANNOUNCERS - len(self._announcing)
        if room > 0:
            # Jobs the claim left waiting (for a worker, the budget, their thread) are shown meanwhile.
            unshown = await self._repository.claim_unannounced(
                self.owner,
                now=self._clock(),
                lease=self._lease,
                limit=room,
                running=[*self._running, *self._announcing],
            )
            for row in unshown:
                self._start(row, self._announcing, run=False)
        if self._positions is None or self._positions.done():
            # Apart from the claims: a rate-limited chat.update must not hold up the queue.
            self._positions = asyncio.create_task(self._show_positions(), name="queue-positions")

    def _start(self, row: JobRecord, tasks: dict[int, asyncio.Task[None]], *, run: bool = True) -> None:
        self._shown_positions.pop(row.id, None)
        task = asyncio.create_task(self._run(row, run=run), name=f"job-{row.id}")
        tasks[row.id] = task
        if run:
            metrics.JOBS_IN_FLIGHT.inc()
        task.add_done_callback(functools.partial(self._forget, row.id, tasks))

    def _forget(self, job_id: int, tasks: dict[int, asyncio.Task[None]], _task: asyncio.Task[None]) -> None:
        """A job ended or was shown: its place (and maybe the next edit of its thread) is free now."""
        tasks.pop(job_id, None)
        if tasks is self._running:
            metrics.JOBS_IN_FLIGHT.dec()
        self._queued.set()

    async def _run(self, row: JobRecord, *, run: bool = True) -> None:
        """Show the job if it is not yet, then (unless `run` is off: a waiting job) run it."""
        logs.bind(
            job_id=row.id,
            request_key=row.request_key,
            workspace=row.team_id,
            user=logs.user_hash(row.user_id),
            model=row.model,
        )
        running = asyncio.current_task()
        assert running is not None
        heartbeat = asyncio.create_task(self._heartbeat(row.id, running))
        if row.attempts == 1:
            metrics.waited_in_queue((self._clock() - row.created_at).total_seconds())
        try:
            job = await self._pipeline.load(row)
            reporter = self._surface.reporter(job)
        except Exception:
            heartbeat.cancel()
            logger.exception("job %s: could not be loaded; its lease will run out and it is tried again", row.id)
            return
        if job.attempt > self._pipeline.max_attempts + 1:
            # Taken up again and again without ending: whatever stops it, it will not end now.
            logger.error("job %s: taken up %d times without ending; giving up", job.id, job.attempt)
            await self._pipeline.abandon(job, reporter, JobInterrupted())
            heartbeat.cancel()
            return
        try:
            post = functools.partial(self._surface.announce, job, JobStatus.GENERATING if run else JobStatus.QUEUED)
            shown = await self._announcer.announce(job, post, reporter)
            if shown is None:
                return
            if not run:
                await self._repository.release_lease(job.id, self.owner)
                return
            job, reporter = shown, self._surface.reporter(shown)
            await self._pipeline.run(job, reporter, self._surface.files(job))
        except DeliveryFailed as retry:
            await self._repository.release_lease(
                job.id, self.owner, not_before=self._clock() + timedelta(seconds=retry.retry_in)
            )
        except asyncio.CancelledError:
            try:
                await self._requeue(job, reporter)
            except Exception:
                logger.exception("job %s: could not be left in the queue; its lease will run out", job.id)
            raise
        except Exception:
            logger.exception("job %s: the worker could not finish it; its lease will run out", job.id)
        finally:
            heartbeat.cancel()

    async def _requeue(self, job: ImageJob, reporter: JobReporter) -> None:
        """Shutting down: leave an unfinished job for the next start."""
        row = await self._repository.get(job.id)
        if row is None or row.status in (JobStatus.DONE, JobStatus.FAILED) or row.lease_owner != self.owner:
            return
        status = JobStatus.QUEUED if row.called_at is None else None
        await self._repository.release_lease(job.id, self.owner, status=status)
        if status is not None:
            await reporter.progress(job, JobStatus.QUEUED)
        logger.info("job %s left in the queue for the next start", job.id)

    async def _heartbeat(self, job_id: int, running: asyncio.Task[None]) -> None:
        """Renew the lease while the job runs; if it is lost (or cannot be renewed before it
        runs out), stop the job: another worker may take it, and two must never run it."""
        renewed = asyncio.get_running_loop().time()
        while True:
            await asyncio.sleep(self._policy.lease_seconds / 3)
            try:
                if await self._repository.extend_lease(job_id, self.owner, until=self._clock() + self._lease):
                    renewed = asyncio.get_running_loop().time()
                    continue
                if await self._repository.is_finished(job_id):
                    return  # it ended between two renewals (ending clears the lease): nothing was lost
                logger.error("job %s: lost its lease to another worker; stopping it here", job_id)
            except Exception:
                if asyncio.get_running_loop().time() - renewed < self._policy.lease_seconds * 0.9:
                    logger.warning("job %s: could not renew its lease; trying again", job_id, exc_info=True)
                    continue
                logger.error("job %s: its lease is running out unrenewed; stopping it here", job_id)
            running.cancel()
            return

    async def _take_over_from_the_gone(self) -> None:
        """Jobs whose holder was a process of this host that died (a crash, a SIGKILL) are
        claimed at once, not when their lease runs out: on a restart, the person hears now."""
        holders = await self._leases.holding(prefix=host_prefix(), now=self._clock())
        gone = [owner for owner in holders if is_gone(owner)]
        if gone and await self._leases.expire(gone, now=self._clock()):
            logger.warning("taking over the jobs of %s, which stopped", ", ".join(gone))
            self._queued.set()

    async def _show_positions(self) -> None:
        """Tell the people waiting in the queue how many jobs are ahead of them (every few
        seconds at most: a burst of requests must not turn into a burst of queries)."""
        now = asyncio.get_running_loop().time()
        if now - self._last_positions < POSITIONS_EVERY_SECONDS:
            return
        self._last_positions = now
        # The oldest queued jobs, in order: each has exactly its index ahead of it. A job still
        # queued right after a claim is waiting (for the budget, a free worker, or its thread).
        try:
            waiting = await self._repository.waiting(now=self._clock(), limit=POSITIONS_SHOWN)
        except Exception:
            logger.warning("queue positions not shown: the database did not answer", exc_info=True)
            return
        still_waiting = {row.id for row in waiting}
        self._shown_positions = {job: shown for job, shown in self._shown_positions.items() if job in still_waiting}
        for ahead, row in enumerate(waiting):
            shown = self._shown_positions.get(row.id)
            if shown is not None and (shown[0] == ahead or now - shown[1] < POSITION_REFRESH_SECONDS):
                continue
            self._shown_positions[row.id] = (ahead, now)
            try:
                if row.id in self._running or not await self._repository.is_waiting(row.id):
                    continue  # claimed meanwhile: its own status comes next, not a stale place
                job = await self._pipeline.load(row)
                await self._surface.reporter(job).progress(job, JobStatus.QUEUED, ahead=ahead)
            except Exception:
                logger.warning("job %s: queue position not shown", row.id, exc_info=True)

    async def _housekeeping(self) -> None:
        """Now and then: end jobs abandoned before they were queued, forget old event ids."""
        now = asyncio.get_running_loop().time()
        if now - self._last_housekeeping < min(HOUSEKEEPING_SECONDS, self._policy.lease_seconds):
            return
        self._last_housekeeping = now
        await self._take_over_from_the_gone()
        # Recording and queuing take milliseconds; a job still unqueued after two leases was
        # left behind by a process that stopped in between.
        for row in await self._repository.abandoned(received_before=self._clock() - 2 * self._lease):
            job = await self._pipeline.load(row)
            logger.warning("job %s was recorded but never queued (a restart); telling its requester", job.id)
            await self._pipeline.abandon(job, self._surface.reporter(job), JobInterrupted())
        await self._events.forget(received_before=self._clock() - EVENT_MEMORY)
