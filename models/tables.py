"""Every table of the app database, imported in one place so the metadata is complete."""

from sqlmodel import SQLModel

from models import (  # noqa: F401
    audit,
    contractors,
    fulfilment,
    incidents,
    ledgers,
    letters,
    operators,
    packages,
    policy,
    requests,
    restarts,
)

metadata = SQLModel.metadata
