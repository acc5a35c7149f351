"""The restarts of a case's flow run (services/recovery.py): how many, the last run that
died, and when people were told it would not stay alive."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import timestamp


class RunRestart(SQLModel, table=True):
    """One row per case (request, inquiry, provision review, contractor) whose run died."""

    __tablename__ = "run_restart"
    __table_args__ = (UniqueConstraint("kind", "reference", name="uq_run_restart_case"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    reference: str = Field(max_length=40)
    restarts: int = 0
    dead_run_id: str = Field(max_length=64)  # the last run that died
    dead_state: str = Field(max_length=20)  # Crashed, Failed, Cancelled, Completed
    updated_at: datetime = timestamp()
    escalated_at: datetime | None = timestamp(nullable=True, index=True)
