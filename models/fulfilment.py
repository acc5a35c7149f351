"""What fulfilment did to each system, and the notices sent: both keyed for idempotency."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.columns import enum_field, json_field, timestamp
from models.rules.states import ActionState, NoticeState
from models.rules.vocabulary import SystemAction


def action_key(reference: str, system_key: str, action: SystemAction) -> str:
    """The idempotency key of one (request, system, action): the same on every retry or re-run."""
    return f"{reference}:{system_key}:{action.value}"


class FulfilmentAction(SQLModel, table=True):
    __tablename__ = "fulfilment_action"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    system_key: str
    action: SystemAction = enum_field(SystemAction)
    idempotency_key: str = Field(unique=True, max_length=160)
    state: ActionState = enum_field(ActionState, ActionState.PENDING)
    attempts: int = 0
    affected: int | None = None
    last_error: str | None = Field(default=None, description="error class and code, never data")
    decided_by: str | None = None
    note: str | None = None
    updated_at: datetime = timestamp()


class Notice(SQLModel, table=True):
    """An email to a requester or an officer; written with the state change that causes it."""

    __tablename__ = "notice"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int | None = Field(default=None, foreign_key="request.id", index=True)
    kind: str
    language: str = "ja"
    recipient_email: str
    idempotency_key: str = Field(unique=True, max_length=160)
    context: dict = json_field(dict)
    state: NoticeState = enum_field(NoticeState, NoticeState.PENDING, index=True)  # moved by mail/outbox.py
    delivery_status: str | None = None  # delivered | bounce | dropped | spamreport
    provider_message_id: str | None = None
    last_error: str | None = None
    created_at: datetime = timestamp()
    sent_at: datetime | None = timestamp(nullable=True)
    attempts: int = Field(default=0, description="claims so far: each one may have sent once")
    claimed_at: datetime | None = timestamp(nullable=True)
    next_attempt_at: datetime | None = timestamp(nullable=True)  # after a temporary failure
    policy_version: int | None = None  # the privacy policy in force when it was written (models/policy.py)
