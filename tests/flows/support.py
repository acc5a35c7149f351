"""Helpers for the lifecycle tests that read what a run left behind: the request, its
fulfilment actions, audit events, the demo systems' key ledgers; the operator CLI and an
agent's uploads."""

import json
import time

from sqlalchemy import select as sa_select
from sqlmodel import select

from demo.fixture import load_fixture_into_systems
from deployments.registry import build_registry
from models.audit import AuditEvent
from models.db import unit_of_work, utcnow
from models.fulfilment import FulfilmentAction
from services import documents
from services.common import load_request
from systems import db as systems_db
from tests.flows.conftest import FIXTURE, PASSWORD


def subject(**changes) -> dict:
    """The fixture's subject (山田 太郎) with some keys changed."""
    return {**json.loads(FIXTURE.read_text())["customers"][0], **changes}


def reload_subject(settings, **changes) -> None:
    """Load the subject into the demo systems again, changed (e.g. opted out, then mailed)."""
    load_fixture_into_systems({"customers": [subject(**changes)]}, settings)


def request_of(settings, reference):
    with unit_of_work(settings) as session:
        return load_request(session, reference)


def actions_of(settings, reference) -> dict[tuple[str, str], FulfilmentAction]:
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        return {
            (a.system_key, str(a.action)): a
            for a in session.exec(select(FulfilmentAction).where(FulfilmentAction.request_id == request.id))
        }


def events_of(settings, reference, action: str | None = None) -> list[AuditEvent]:
    with unit_of_work(settings) as session:
        query = select(AuditEvent).where(AuditEvent.subject_ref == reference)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(session.exec(query.order_by(AuditEvent.seq)))


def ledgers(settings) -> dict[str, list[str]]:
    """Every demo system's ``applied_actions`` ledger: the idempotency keys it applied."""
    registry = build_registry(settings)
    out = {}
    for key in registry.keys():
        definition = registry.definition(key)
        engine = systems_db.ensure_schema(registry.url(key), definition.metadata)
        with engine.connect() as conn:
            out[key] = [r[0] for r in conn.execute(sa_select(definition.applied.c.idempotency_key))]
    return out


def customer_row(settings, email="taro@example.co.jp") -> dict:
    registry = build_registry(settings)
    definition = registry.definition("customers")
    table = definition.metadata.tables["customers"]
    engine = systems_db.ensure_schema(registry.url("customers"), definition.metadata)
    with engine.connect() as conn:
        return dict(conn.execute(sa_select(table).where(table.c.email == email)).mappings().one())


def operator(*args: str, user: str = "sato") -> str:
    """``madoguchi operator …`` as ``user`` types it, logged in with their password; fails the
    test on a non-zero exit."""
    result = madoguchi("operator", *args, user=user)
    assert result.exit_code == 0, result.output
    return result.output


def madoguchi(*args: str, user: str | None = None, password: str = PASSWORD):
    """``madoguchi …`` (logged in as ``user``, if given): the CliRunner's result."""
    from typer.testing import CliRunner

    from cli import app

    env = {"MADOGUCHI_PASSWORD": password, **({"MADOGUCHI_USER": user} if user else {})}
    return CliRunner().invoke(app, list(args), env=env)


def wait_for(predicate, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def sent_keys(stub) -> list[str]:
    """The notice keys of every message the SendGrid stub received, in order."""
    from mail.sendgrid_adapter import CUSTOM_ARG_KEY

    return [m["custom_args"][CUSTOM_ARG_KEY] for m in stub.state.messages]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(settings, reference: str, kind: str) -> bool:
    """An agent's upload, as the API takes it; True when the run is to be woken."""
    with unit_of_work(settings) as session:
        return documents.receive(
            session, settings, reference, kind=kind, content_type="image/png", data=PNG, now=utcnow()
        ).resumed


def upload_agent_documents(settings, reference: str, run) -> None:
    """The appointed agent's identity document and power of attorney, once the run waits for
    them; then the wake the API gives."""
    run.wait_until_paused()
    upload(settings, reference, "agent_identity_document")
    assert upload(settings, reference, "power_of_attorney")
    run.answer()
