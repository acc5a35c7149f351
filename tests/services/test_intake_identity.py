"""Intake and identity as the service layer does them (no Prefect): persist and acknowledge,
then match the principal and confirm a one-time code, or hand an agent to an operator."""

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from models.audit import AuditEvent
from models.db import unit_of_work
from models.requests import ClockPause, Party, RequestCreate
from models.rules.one_time_code import Verdict
from models.rules.vocabulary import ReasonCode, Status, WaitingFor
from services import clarification, documents, identity, intake
from services.common import load_request
from services.intake import token_hash
from tests.services.conftest import PRINCIPAL, notices, submit
from tests.services.conftest import REVIEW_NOW as NOW


def test_intake_persists_acknowledges_and_keeps_only_the_token_hash(desk):
    settings, _ = desk
    body = {"request_type": "disclosure", "principal": PRINCIPAL}
    with unit_of_work(settings) as session:
        submitted = intake.submit(session, settings, RequestCreate.model_validate(body), now=NOW)
    with unit_of_work(settings) as session:
        request = load_request(session, submitted.reference)
        assert request.status == Status.RECEIVED
        assert request.status_token_hash == token_hash(submitted.status_token) != submitted.status_token
        assert request.due_at > NOW + timedelta(days=12)
        parties = session.exec(select(Party).where(Party.request_id == request.id)).all()
        assert [(p.role, p.is_requester) for p in parties] == [("principal", True)]
        events = session.exec(select(AuditEvent).where(AuditEvent.subject_ref == submitted.reference)).all()
        assert [e.action for e in events] == ["request.received"]
        assert "taro" not in json.dumps([e.details for e in events])
    [ack] = notices(settings, "acknowledgement")
    assert ack.recipient_email == PRINCIPAL["email"] and ack.context["reference"] == submitted.reference


def test_principal_gets_a_code_and_the_clock_pauses(desk):
    settings, registry = desk
    reference = submit(settings)
    with unit_of_work(settings) as session:
        state = identity.start(session, settings, reference, registry=registry, now=NOW)
    assert state is identity.IdentityState.PENDING
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        assert (request.status, request.waiting_for) == (Status.AWAITING_REQUESTER, WaitingFor.ONE_TIME_CODE)
        assert request.subject["customer_ids"] and request.subject["shipment_nos"]
        [pause] = session.exec(select(ClockPause)).all()
        assert pause.ended_at is None
        due_before = request.due_at
    [code_notice] = notices(settings, "one_time_code")
    code = code_notice.context["code"]

    with unit_of_work(settings) as session:  # a second start changes nothing
        identity.start(session, settings, reference, registry=registry, now=NOW)
    assert len(notices(settings, "one_time_code")) == 1

    with unit_of_work(settings) as session:
        assert (
            identity.submit_code(
                session,
                settings,
                reference,
                "000000" if code != "000000" else "111111",
                now=NOW + timedelta(minutes=1),
            )
            is Verdict.WRONG
        )
    with unit_of_work(settings) as session:
        assert (
            identity.submit_code(session, settings, reference, code, now=NOW + timedelta(minutes=2))
            is Verdict.VERIFIED
        )
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        assert identity.state_of(session, request) is identity.IdentityState.VERIFIED
        assert request.status == Status.IDENTITY_VERIFICATION and request.waiting_for is None
        assert request.due_at >= due_before  # paused time extends the due date


def test_a_request_withdrawn_while_its_code_is_valid_takes_no_code_and_stays_withdrawn(desk):
    settings, registry = desk
    reference = submit(settings)
    with unit_of_work(settings) as session:
        identity.start(session, settings, reference, registry=registry, now=NOW)
    [code_notice] = notices(settings, "one_time_code")
    with unit_of_work(settings) as session:
        assert clarification.withdraw(session, settings, reference, now=NOW + timedelta(minutes=1))
    with unit_of_work(settings) as session:
        assert (
            identity.submit_code(
                session, settings, reference, code_notice.context["code"], now=NOW + timedelta(minutes=2)
            )
            is Verdict.NO_CODE
        )
        assert (
            identity.resend_code(session, settings, reference, now=NOW + timedelta(minutes=2))
            is Verdict.NO_CODE
        )
    with unit_of_work(settings) as session:
        assert load_request(session, reference).status is Status.WITHDRAWN
    assert len(notices(settings, "one_time_code")) == 1


def test_three_codes_used_up_fail_identity(desk):
    settings, registry = desk
    reference = submit(settings)
    with unit_of_work(settings) as session:
        identity.start(session, settings, reference, registry=registry, now=NOW)
    now = NOW
    for round_ in range(3):
        for _ in range(3):
            now += timedelta(seconds=10)
            with unit_of_work(settings) as session:
                identity.submit_code(session, settings, reference, "not-it", now=now)
        with unit_of_work(settings) as session:
            verdict = identity.resend_code(session, settings, reference, now=now)
        assert verdict is (Verdict.ISSUED if round_ < 2 else Verdict.REFUSED)
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        assert identity.state_of(session, request) is identity.IdentityState.FAILED
        assert identity.refusal_reason(session, request) is ReasonCode.IDENTITY_NOT_VERIFIED
    assert len(notices(settings, "one_time_code")) == 3


def test_details_that_do_not_match_the_customer_record_fail(desk):
    settings, registry = desk
    reference = submit(
        settings,
        principal={**PRINCIPAL, "login_id": "Z9999999", "phone": "06-0000-0000", "company": "別の会社"},
    )
    with unit_of_work(settings) as session:
        assert (
            identity.start(session, settings, reference, registry=registry, now=NOW)
            is identity.IdentityState.FAILED
        )
    assert notices(settings, "one_time_code") == []


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(settings, reference: str, kind: str) -> documents.Received:
    with unit_of_work(settings) as session:
        return documents.receive(
            session,
            settings,
            reference,
            kind=kind,
            content_type="image/png",
            data=PNG,
            now=NOW + timedelta(hours=1),
        )


def waiting_for(settings, reference: str) -> tuple[Status, WaitingFor | None]:
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        return request.status, request.waiting_for


@pytest.mark.parametrize(
    ("role", "authority"),
    [("appointed_agent", "power_of_attorney"), ("legal_representative", "legal_representation")],
)
def test_an_agent_waits_for_their_identity_document_and_their_authority(desk, role, authority):
    settings, registry = desk
    reference = submit(settings, requester={"role": role, "name": "代理 花子", "email": "agent@example.jp"})
    with unit_of_work(settings) as session:
        identity.start(session, settings, reference, registry=registry, now=NOW)
    [docs] = notices(settings, "documents_needed")
    assert docs.context["required_documents"] == ["agent_identity_document", authority]
    waiting = (Status.AWAITING_REQUESTER, WaitingFor.DOCUMENTS)
    assert waiting_for(settings, reference) == waiting
    assert not upload(settings, reference, "agent_identity_document").resumed
    assert not upload(settings, reference, "identity_document").resumed  # not the agent's authority
    assert waiting_for(settings, reference) == waiting
    assert upload(settings, reference, authority).resumed
    assert waiting_for(settings, reference) == (Status.IDENTITY_VERIFICATION, None)
    with unit_of_work(settings) as session:
        assert (
            identity.decide_by_autopilot(session, settings, reference, now=NOW + timedelta(hours=2))
            is identity.IdentityState.VERIFIED
        )


def test_autopilot_never_verifies_an_agent_without_their_documents(desk):
    settings, registry = desk
    reference = submit(
        settings, requester={"role": "appointed_agent", "name": "代理 花子", "email": "agent@example.jp"}
    )
    with unit_of_work(settings) as session:
        identity.start(session, settings, reference, registry=registry, now=NOW)
    upload(settings, reference, "agent_identity_document")
    with unit_of_work(settings) as session:
        assert (
            identity.decide_by_autopilot(session, settings, reference, now=NOW + timedelta(hours=2))
            is identity.IdentityState.FAILED
        )
        assert (
            identity.refusal_reason(session, load_request(session, reference))
            is ReasonCode.AGENT_AUTHORITY_NOT_SHOWN
        )


def test_an_agent_who_uploaded_everything_before_the_check_is_not_asked_again(desk):
    settings, registry = desk
    reference = submit(
        settings, requester={"role": "appointed_agent", "name": "代理 花子", "email": "agent@example.jp"}
    )
    for kind in ("power_of_attorney", "agent_identity_document"):
        assert not upload(settings, reference, kind).resumed  # nothing waits yet
    with unit_of_work(settings) as session:
        assert (
            identity.start(session, settings, reference, registry=registry, now=NOW + timedelta(hours=2))
            is identity.IdentityState.PENDING
        )
    assert waiting_for(settings, reference) == (Status.IDENTITY_VERIFICATION, None)
    assert notices(settings, "documents_needed") == []


def test_an_agent_is_asked_for_documents_and_checked_by_an_operator(desk):
    settings, registry = desk
    agent = {"role": "appointed_agent", "name": "代理 花子", "email": "agent@example.jp"}
    reference = submit(settings, requester=agent)
    with unit_of_work(settings) as session:
        identity.start(session, settings, reference, registry=registry, now=NOW)
    [docs] = notices(settings, "documents_needed")
    assert docs.recipient_email == "agent@example.jp"
    assert docs.context["required_documents"] == ["agent_identity_document", "power_of_attorney"]
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        assert request.waiting_for == WaitingFor.DOCUMENTS
    with unit_of_work(settings) as session:
        state = identity.decide(
            session,
            settings,
            reference,
            verified=False,
            reason=ReasonCode.AGENT_AUTHORITY_NOT_SHOWN,
            actor="operator:sato",
            now=NOW + timedelta(days=2),
        )
        assert state is identity.IdentityState.FAILED
        assert (
            identity.refusal_reason(session, load_request(session, reference))
            is ReasonCode.AGENT_AUTHORITY_NOT_SHOWN
        )


def test_a_requester_with_the_role_principal_is_the_principal_alone(desk):
    """docs/contract.md: ``role`` is ``principal`` when the principal asks for themself, whether
    ``requester`` is left out or given with that role; either way one party, who gets the code."""
    settings, registry = desk
    reference = submit(
        settings, requester={"role": "principal", "name": "山田 太郎", "email": "other@example.jp"}
    )
    with unit_of_work(settings) as session:
        assert (
            identity.start(session, settings, reference, registry=registry, now=NOW)
            is identity.IdentityState.PENDING
        )
        request = load_request(session, reference)
        parties = session.exec(select(Party).where(Party.request_id == request.id)).all()
        assert [(p.role, p.is_requester, p.email) for p in parties] == [
            ("principal", True, PRINCIPAL["email"])
        ]
    assert [n.recipient_email for n in notices(settings, "one_time_code")] == [PRINCIPAL["email"]]
