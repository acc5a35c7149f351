"""Letters the help desk prints and posts: a notice for a requester who is answered on paper
(issue 15), written with the state change that causes it, like an email in the outbox, and
keyed the same way. Its text is the notice's template; the name and address are read from
the request when it is printed, so they are kept nowhere else."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.columns import json_field, timestamp


def letter_key(reference: str, kind: str) -> str:
    """The idempotency key of one letter: the same on every retry."""
    return f"{reference}:{kind}:letter"


class Letter(SQLModel, table=True):
    __tablename__ = "letter"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    kind: str  # a notice kind of mail/render.py
    idempotency_key: str = Field(unique=True, max_length=160)
    context: dict = json_field(dict)  # the notice's context: references, codes, dates
    created_at: datetime = timestamp()
    sent_at: datetime | None = timestamp(nullable=True, index=True)  # None: still to print and post
    sent_by: str | None = Field(default=None, max_length=64)
    tracking_number: str | None = Field(default=None, max_length=13)  # registered mail: Japan Post's number
