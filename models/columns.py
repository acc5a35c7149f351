"""Column helpers shared by the tables, so each table reads as a list of its fields."""

from enum import Enum
from typing import Any

from sqlalchemy import JSON, Column
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field

from models.db import UTCDateTime


def timestamp(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def json_field(default_factory=list) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


def enum_type(enum: type[Enum]) -> SAEnum:
    """Stores the contract's lowercase values as plain strings: no database enum to migrate."""
    return SAEnum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=40,
        values_callable=lambda members: [m.value for m in members],
    )


def enum_field(enum: type[Enum], default: Any = ..., *, index: bool = False) -> Any:
    return Field(default=default, sa_type=enum_type(enum), index=index)
