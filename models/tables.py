"""Every table of the app database, imported in one place so the metadata is complete."""

from sqlmodel import SQLModel

from models import audit, contractors, fulfilment, ledgers, operators, packages, requests, restarts  # noqa: F401

metadata = SQLModel.metadata
