"""Where a model stands with its provider today: current, deprecated, or shut down.

"Today" is always passed in, so that the same catalog gives the same answer in a test on any
date; the wall clock is read only by whoever calls (start-up, `check`, the Home tab).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.domain.catalog import CATALOG, WARN_DAYS_BEFORE_SHUTDOWN


class Stage(StrEnum):
    CURRENT = "current"
    DEPRECATED = "deprecated"
    SHUT_DOWN = "shut down"
    UNKNOWN = "unknown"  # the catalog has no dates for this model at this provider


@dataclass(frozen=True, kw_only=True)
class ModelStatus:
    model: str
    provider: str
    stage: Stage
    shutdown: date | None = None
    replacements: tuple[str, ...] = ()
    days_left: int | None = None
    reported_shutdown: date | None = None  # what the provider's models endpoint said, if anything

    @property
    def warns(self) -> bool:
        """Admins are told from 30 days before a shutdown, and after it."""
        return self.stage is Stage.SHUT_DOWN or (
            self.days_left is not None and self.days_left <= WARN_DAYS_BEFORE_SHUTDOWN
        )

    def describe(self) -> str:
        """One line for the log, `check` and the Home tab."""
        instead = f"; use {' or '.join(f'`{r}`' for r in self.replacements)}" if self.replacements else ""
        reported = f" (the models endpoint says {self.reported_shutdown.isoformat()})" if self.reported_shutdown else ""
        match self.stage:
            case Stage.SHUT_DOWN:
                assert self.shutdown is not None
                when = self.shutdown.isoformat()
                return f"`{self.model}` was shut down on {self.provider} on {when}{instead}{reported}"
            case Stage.DEPRECATED:
                assert self.shutdown is not None
                days = "tomorrow" if self.days_left == 1 else f"in {self.days_left} days"
                return (
                    f"`{self.model}` is deprecated on {self.provider}: it shuts down on "
                    f"{self.shutdown.isoformat()} ({days}){instead}{reported}"
                )
            case Stage.CURRENT:
                return f"`{self.model}` is current on {self.provider}{reported}"
        return f"`{self.model}`: Easel has no lifecycle dates for it on {self.provider}{reported}"


def status_of(model: str, provider: str, *, today: date, reported_shutdown: date | None = None) -> ModelStatus:
    """The model's stage at `provider` on `today`. A shutdown date the provider reports
    (OpenAI's models endpoint) wins over the catalog's when it is earlier."""
    spec = CATALOG.get(model)
    availability = spec.providers.get(provider) if spec else None
    shutdown = availability.shutdown if availability else None
    if reported_shutdown is not None and (shutdown is None or reported_shutdown < shutdown):
        shutdown = reported_shutdown
    replacements = availability.replacements if availability else ()
    if shutdown is None:
        stage = Stage.CURRENT if availability is not None else Stage.UNKNOWN
        return ModelStatus(model=model, provider=provider, stage=stage, reported_shutdown=reported_shutdown)
    days_left = (shutdown - today).days
    return ModelStatus(
        model=model,
        provider=provider,
        stage=Stage.SHUT_DOWN if days_left <= 0 else Stage.DEPRECATED,
        shutdown=shutdown,
        replacements=replacements,
        days_left=max(days_left, 0),
        reported_shutdown=reported_shutdown,
    )
