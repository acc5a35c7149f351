"""Shared set-ups for the service tests. Each helper is named for the service it serves."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from demo.fixture import Fixture, load_fixture_into_systems
from deployments.registry import build_registry
from models.audit import audit_key
from models.db import unit_of_work
from models.fixtures import load_fixture_into_app
from models.requests import DecisionItem, DetailsIn, Party, Request, new_reference
from models.rules.vocabulary import RequestType, Role, Status
from models.schema import upgrade
from systems.identity import expand_identity

CONTRACT_FIXTURE = Path(__file__).parent.parent / "fixtures" / "contract_example.json"
REVIEW_NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def contract_subject(**changes) -> dict:
    """The docs/contract.md example customer, with some keys changed."""
    customer = json.loads(CONTRACT_FIXTURE.read_text(encoding="utf-8"))["customers"][0]
    return {**customer, **changes}


@pytest.fixture
def review_desk(settings):
    """Build the desk for one subject: app database migrated, systems and app ledgers
    loaded; returns ``(settings, registry, load)``, where ``load(**changes)`` loads the
    docs/contract.md example subject with those changes (call it once per test)."""
    upgrade(settings)
    registry = build_registry(settings)

    def load(**changes) -> dict:
        subject = contract_subject(**changes)
        fixture = Fixture.model_validate({"customers": [subject]})
        load_fixture_into_systems(fixture, settings)
        with unit_of_work(settings) as session:
            load_fixture_into_app(session, fixture, now=REVIEW_NOW, audit_key=audit_key("k"))
        return subject

    yield settings, registry, load
    registry.dispose()


def create_review_request(
    settings,
    registry,
    request_type: RequestType | str,
    *,
    email: str = "taro@example.co.jp",
    name: str = "山田 太郎",
    received_at: datetime = REVIEW_NOW,
    **details,
) -> str:
    """A request past identity verification (status ``review``) for the subject with ``email``;
    ``details`` as in the docs/contract.md request body. Returns its reference."""
    with unit_of_work(settings) as session:
        request = Request(
            reference=new_reference(received_at),
            request_type=RequestType(request_type),
            status=Status.REVIEW,
            status_token_hash="",
            received_at=received_at,
            updated_at=received_at,
            details=DetailsIn.model_validate(details).model_dump(mode="json"),
            subject=expand_identity(email, registry).to_dict(),
        )
        session.add(request)
        session.flush()
        session.add(
            Party(request_id=request.id, role=Role.PRINCIPAL, is_requester=True, name=name, email=email)
        )
        return request.reference


# --- fulfilment (services/fulfilment.py) ----------------------------------------------------


@pytest.fixture
def fulfilment_desk(review_desk):
    """The review desk with the docs/contract.md example subject loaded; ``(settings, registry)``."""
    settings, registry, load = review_desk
    load()
    return settings, registry


def create_fulfilment_request(
    settings,
    registry,
    request_type: RequestType | str,
    items: list[tuple[str, str, str, str | None]],
    **details,
) -> str:
    """A decided request: ``items`` are ``(item_key, system_key, final_action,
    final_system_action)`` as the review writes them. Returns its reference."""
    reference = create_review_request(settings, registry, request_type, **details)
    with unit_of_work(settings) as session:
        request = session.exec(select(Request).where(Request.reference == reference)).one()
        for item_key, system_key, final_action, system_action in items:
            session.add(
                DecisionItem(
                    request_id=request.id,
                    item_key=item_key,
                    system_key=system_key,
                    proposed_action=final_action,
                    final_action=final_action,
                    system_action=system_action,
                    final_system_action=system_action,
                    decided_by="operator:test",
                    decided_at=REVIEW_NOW,
                )
            )
        request.status = Status.FULFILMENT
        session.add(request)
    return reference


PRINCIPAL = {
    "name": "山田 太郎",
    "email": "taro@example.co.jp",
    "phone": "03-1234-5678",
    "company": "株式会社サンプル",
    "login_id": "A1234567",
}


@pytest.fixture
def desk(review_desk):
    """The docs/contract.md example subject loaded as it is; returns ``(settings, registry)``."""
    settings, registry, load = review_desk
    load()
    return settings, registry


def submit(settings, **changes) -> str:
    """A request from the example principal through intake, as the web form would send it."""
    from models.requests import RequestCreate
    from services import intake

    body = {"request_type": "disclosure", "principal": PRINCIPAL, **changes}
    with unit_of_work(settings) as session:
        return intake.submit(session, settings, RequestCreate.model_validate(body), now=REVIEW_NOW).reference


def to_review(settings, *references: str) -> None:
    """Stand submitted requests at review, where an operator asks a question and the fee is
    asked for; identity is other tests' business (``move`` would refuse the shortcut)."""
    with unit_of_work(settings) as session:
        for request in session.exec(select(Request).where(Request.reference.in_(references))):
            request.status = Status.REVIEW
            session.add(request)


def notices(settings, kind: str):
    from models.fulfilment import Notice

    with unit_of_work(settings) as session:
        return list(session.exec(select(Notice).where(Notice.kind == kind).order_by(Notice.id)))
