"""Helpers shared by the intake tests: the example customer in the demo systems, and a request
taken to where it waits for the requester's one-time code by the same service the lifecycle
flow calls (``services.identity.start``), without Prefect."""

import json
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from demo.fixture import Fixture, load_fixture_into_systems
from deployments.registry import build_registry
from models.audit import AuditEvent
from models.db import unit_of_work, utcnow
from models.fulfilment import Notice
from models.requests import Party, Request
from services import identity
from services.common import load_request

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "contract_example.json"


@contextmanager
def example_systems(settings):
    """The demo systems holding the docs/contract.md example customer; yields the registry."""
    load_fixture_into_systems(
        Fixture.model_validate(json.loads(FIXTURE.read_text(encoding="utf-8"))), settings
    )
    registry = build_registry(settings)
    try:
        yield registry
    finally:
        registry.dispose()


def ask_for_code(settings, registry, reference: str) -> str:
    """What the lifecycle's identity step does: match the principal, send a code (returned here,
    read from its notice as the requester reads it from the email)."""
    with unit_of_work(settings) as session:
        identity.start(session, settings, reference, registry=registry, now=utcnow())
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        notice = session.exec(
            select(Notice)
            .where(Notice.request_id == request.id, Notice.kind == "one_time_code")
            .order_by(Notice.id.desc())
        ).first()
        assert notice is not None, f"no code was sent for {reference} (status {request.status})"
        return notice.context["code"]


def request_of(settings, reference: str) -> Request:
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        session.expunge(request)
        return request


def row_counts(settings) -> dict[str, int]:
    """Rows a submission writes: requests, parties, notices and audit events."""
    with unit_of_work(settings) as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Request, Party, Notice, AuditEvent)
        }
