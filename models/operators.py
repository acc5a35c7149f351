"""Operator accounts: the people (and the one service) who reach Prefect through the gate.

Only an argon2 hash of each password is kept (services/accounts.py hashes and checks it).
An account is disabled, never deleted, so the audit trail's names keep their meaning.
"""

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.columns import enum_field, timestamp
from models.rules.access import AccountRole


class OperatorAccount(SQLModel, table=True):
    __tablename__ = "operator_account"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=40)
    role: AccountRole = enum_field(AccountRole)
    password_hash: str = Field(max_length=200)
    enabled: bool = True
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()
