"""The intake, the one way a request becomes a job: recorded, reserved, then queued for the
workers or refused, with nothing left behind."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.domain.limits import LimitPolicy
from bot.domain.model import JobStatus
from bot.errors import LimitReached
from tests.domain.job_fakes import ADA, PRIMARY, Domain, request


async def test_a_request_is_recorded_reserved_and_queued(make_domain: Callable[..., Domain]) -> None:
    domain = make_domain()
    job = await domain.intake.submit(request(n=2, key="command:T1"))
    assert job is not None and job.reservation is not None
    assert domain.intake.queued.is_set(), "the worker of this process is woken"
    [row] = domain.job_rows()
    assert (row.id, row.status, row.reservation_id) == (job.id, JobStatus.QUEUED, job.reservation.id)
    assert (row.team_id, row.user_id, row.channel_id, row.thread_ts) == ("T1", "U1", "C1", "1700000000.000100")
    assert (row.prompt, row.n, row.request_key) == ("a lighthouse at dusk", 2, "command:T1")
    assert row.model == PRIMARY.model_id
    [charge] = domain.ledger_rows()
    assert (charge.id, charge.job_id, charge.status, charge.images) == (job.reservation.id, None, "reserved", 2)


async def test_a_redelivered_request_makes_no_second_job(make_domain: Callable[..., Domain]) -> None:
    domain = make_domain()
    first = await domain.intake.submit(request(key="event:Ev1"))
    again = await domain.intake.submit(request(key="event:Ev1"))
    assert first is not None and again is None
    assert [row.id for row in domain.job_rows()] == [first.id]
    assert len(domain.ledger_rows()) == 1, "nothing is reserved twice"


async def test_a_request_over_a_limit_is_refused_and_leaves_nothing_behind(make_domain: Callable[..., Domain]) -> None:
    domain = make_domain(policy=LimitPolicy(images_per_day=3))
    assert await domain.intake.submit(request(n=2)) is not None
    domain.intake.queued.clear()
    with pytest.raises(LimitReached) as refused:
        await domain.intake.submit(request(n=2))
    assert (refused.value.limit, refused.value.used, refused.value.allowed) == ("images today", "2", "3")
    assert not domain.intake.queued.is_set(), "no worker is woken for it"
    assert [(row.status, row.error, row.reservation_id) for row in domain.job_rows()][1:] == [
        (JobStatus.FAILED, "LimitReached", None)
    ]
    assert [charge.status for charge in domain.ledger_rows()] == ["reserved"], "only the first request's reservation"


async def test_a_job_held_by_its_caller_is_reserved_but_kept_from_the_workers(
    make_domain: Callable[..., Domain],
) -> None:
    domain = make_domain()
    job = await domain.intake.submit(request(requester=ADA), held_by="local:42")
    assert job is not None and job.owner == "local:42" and job.reservation is not None
    [row] = domain.job_rows()
    assert (row.status, row.lease_owner, row.reservation_id) == (JobStatus.RECEIVED, "local:42", job.reservation.id)
    assert row.lease_expires_at is not None
    assert not domain.intake.queued.is_set()
