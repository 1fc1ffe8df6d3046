"""What every repository shares. SQLModel sessions are synchronous, so every query runs in a
worker thread (`Database.run`) and the event loop never waits on the database. Rows stay
here: what a repository returns is the domain's data (`bot.domain.model`)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel import SQLModel

from bot.storage.database import Database

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")


class Repository:
    def __init__(self, database: Database) -> None:
        self._run = database.run


def mapped(kind: type[D], row: SQLModel, **given: Any) -> D:
    """`kind` made of the row's columns of the same names (`given` ones aside)."""
    values = {field.name: getattr(row, field.name) for field in fields(kind) if field.name not in given}
    return kind(**{name: aware(value) for name, value in values.items()}, **given)


def aware(value: Any) -> Any:
    """A time in UTC, with its zone: SQLite stores none, and SQLModel before 0.0.45 (pyproject
    allows 0.0.24) hands it back naive. The domain sees aware times only."""
    if not isinstance(value, datetime):
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
