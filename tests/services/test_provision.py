"""Third-party provision review (docs/rules.md §5): entered, checked against the statutory
grounds, decided; a provision writes its record (items of Rules Art. 20, kept three years),
and the records the law requires appear in a later disclosure (Art. 33(5))."""

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError
from sqlmodel import select

from disclosure.build import gather
from models.audit import AuditEvent
from models.db import unit_of_work
from models.ledgers import ProvisionRecord
from services import dispatch
from services import provision as service
from tests.services.conftest import REVIEW_NOW, create_review_request

SUBJECT = {"email": "Taro@Example.co.jp", "name": "山田 太郎"}
POLICE = {
    "third_party": {"kind": "police", "name": "警視庁豊洲警察署", "address": "東京都江東区"},
    "subject": SUBJECT,
    "items": ["name", "phone", "order_history"],
    "basis": "police_written_inquiry",
}
PARTNER = {
    "third_party": {"kind": "business_partner", "name": "株式会社オフィス便利"},
    "subject": SUBJECT,
    "items": ["name", "company", "email"],
    "basis": "consent",
}


@pytest.fixture
def desk(review_desk):
    settings, registry, load = review_desk
    load()
    return settings, registry


def enter(settings, body: dict, **changes) -> str:
    with unit_of_work(settings) as session:
        return service.enter(
            session,
            settings,
            service.ProvisionRequestCreate.model_validate({**body, **changes}),
            now=REVIEW_NOW,
            actor="operator:tanaka",
        )


def propose(settings, reference) -> dict:
    with unit_of_work(settings) as session:
        return service.propose(session, settings, reference, now=REVIEW_NOW)


def decide(settings, reference, provide: bool) -> str:
    with unit_of_work(settings) as session:
        return service.decide(
            session, settings, reference, provide=provide, actor="officer:sato", now=REVIEW_NOW
        )


def records(settings, reference) -> list[ProvisionRecord]:
    with unit_of_work(settings) as session:
        return list(session.exec(select(ProvisionRecord).where(ProvisionRecord.source_ref == reference)))


def consent(settings, event="consented") -> int:
    with unit_of_work(settings) as session:
        return service.record_consent(
            session, settings, "taro@example.co.jp", source="signed-form-17", event=event, now=REVIEW_NOW
        )


def test_input_is_validated():
    with pytest.raises(ValidationError):
        service.ProvisionRequestCreate.model_validate({**POLICE, "basis": "protect_our_rights"})
    with pytest.raises(ValidationError):
        service.ProvisionRequestCreate.model_validate({**POLICE, "items": []})
    with pytest.raises(ValidationError):
        service.ProvisionRequestCreate.model_validate({**POLICE, "reason": "extra"})


def test_a_police_inquiry_without_the_written_inquiry_is_refused_without_a_record(desk):
    settings, _ = desk
    reference = enter(settings, POLICE)
    assert reference.startswith("P-261201-")
    proposal = propose(settings, reference)
    assert (proposal["proposed"], proposal["problems"]) == ("refuse", ["no_written_request"])
    with pytest.raises(service.DecisionInvalid):
        decide(settings, reference, provide=True)
    assert decide(settings, reference, provide=False) == "refused"
    assert records(settings, reference) == []


def test_a_written_police_inquiry_is_provided_and_recorded_for_three_years(desk):
    settings, _ = desk
    reference = enter(settings, POLICE, document_ref="豊洲署刑組第123号 2026-11-30")
    proposal = propose(settings, reference)
    assert proposal["proposed"] == "provide" and "197(2)" in proposal["article"]
    assert not proposal["record_required"]  # Art. 27(1) exception: no Art. 29 duty, not disclosable
    assert decide(settings, reference, provide=True) == "provided"
    assert decide(settings, reference, provide=True) == "provided"  # decided once: one record
    [record] = records(settings, reference)
    assert (record.recipient, record.recipient_address, record.subject_email, record.subject_name) == (
        "警視庁豊洲警察署",
        "東京都江東区",
        "taro@example.co.jp",
        "山田 太郎",
    )
    assert (record.items, record.basis, record.consent_ref) == (
        ["name", "phone", "order_history"],
        "police_written_inquiry",
        None,
    )
    assert record.provided_at == REVIEW_NOW and record.keep_until.date() == date(2029, 12, 1)
    with unit_of_work(settings) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.subject_ref == reference).order_by(AuditEvent.seq)
        ).all()
    assert [(e.action, e.actor) for e in events] == [
        ("provision.received", "operator:tanaka"),
        ("provision.proposed", "system"),
        ("provision.provided", "officer:sato"),
    ]
    assert events[-1].details["record_id"] == record.id


def test_consent_based_provision_needs_a_consent_record(desk):
    settings, _ = desk
    without = enter(settings, PARTNER)
    assert propose(settings, without)["problems"] == ["no_consent"]
    with pytest.raises(service.DecisionInvalid):
        decide(settings, without, provide=True)

    event_id = consent(settings)
    with_consent = enter(settings, PARTNER)
    proposal = propose(settings, with_consent)
    assert proposal["proposed"] == "provide" and proposal["record_required"]
    assert proposal["record_items"] == ["consent", "recipient", "principal", "data_items"]
    assert decide(settings, with_consent, provide=True) == "provided"
    assert records(settings, with_consent)[0].consent_ref == f"consent_event:{event_id}"


def test_a_withdrawn_consent_is_no_consent(desk):
    settings, _ = desk
    consent(settings)
    consent(settings, event="withdrawn")
    reference = enter(settings, PARTNER)
    assert propose(settings, reference)["problems"] == ["no_consent"]


def test_records_required_by_law_appear_in_a_later_disclosure(desk):
    settings, registry = desk
    consent(settings)
    partner, police = enter(settings, PARTNER), enter(settings, POLICE, document_ref="照会書第9号")
    for reference in (partner, police):
        propose(settings, reference)
        decide(settings, reference, provide=True)
    disclosure = create_review_request(
        settings,
        registry,
        "disclosure",
        include_third_party_records=True,
        received_at=datetime(2026, 12, 2, tzinfo=UTC),
    )
    provisions = gather(settings, disclosure, [], registry=registry).provisions
    recipients = {p.recipient: p for p in provisions}
    assert "株式会社オフィス便利" in recipients and "警視庁豊洲警察署" not in recipients
    mine = recipients["株式会社オフィス便利"]
    assert mine.consent and mine.principal == "山田 太郎" and mine.data_items == ("name", "company", "email")


def test_open_reviews_are_pending_dispatch_until_decided(desk):
    settings, _ = desk
    reference = enter(settings, POLICE)
    with unit_of_work(settings) as session:
        assert dispatch.pending_tickets(session) == [("provision", reference)]
    propose(settings, reference)
    decide(settings, reference, provide=False)
    with unit_of_work(settings) as session:
        assert dispatch.pending_tickets(session) == []


def test_the_officers_summary_names_no_one(desk):
    settings, _ = desk
    reference = enter(settings, POLICE)
    proposal = propose(settings, reference)
    with unit_of_work(settings) as session:
        markdown = service.summary_markdown(service.load_review(session, reference), proposal)
    assert "捜査関係事項照会" in markdown and "書面による照会（照会書・令状）がありません" in markdown
    for personal in ("山田", "taro", "豊洲警察署", "江東区"):
        assert personal not in markdown
