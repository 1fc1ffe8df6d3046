"""`make_domain`: the intake and the pipeline on a SQLite file of the test's own, closed after it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.domain.job_fakes import Domain, build_domain


@pytest.fixture
def make_domain(tmp_path: Path) -> Iterator[Callable[..., Domain]]:
    built: list[Domain] = []

    def make(**options: Any) -> Domain:
        domain = build_domain(tmp_path, **options)
        built.append(domain)
        return domain

    yield make
    for domain in built:
        domain.close()
