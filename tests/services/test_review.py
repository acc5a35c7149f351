"""Feasibility review as the service layer does it (no Prefect): facts from the systems and
the app database, the pre-screen's proposal per item, the operator's decision and the
privacy officer's sign-off, and a summary the operator may see in Prefect."""

import dataclasses
import json
from datetime import timedelta

import pytest
from sqlmodel import select

from models.audit import AuditEvent
from models.db import unit_of_work
from models.requests import DecisionItem
from models.rules.decisions import ItemAction
from models.rules.prescreen import PrescreenPolicy, prescreen
from models.rules.vocabulary import Outcome, SystemAction
from models.rules.vocabulary import ReasonCode as R
from services import review
from services.common import load_request
from services.review_facts import gather_facts
from tests.services.conftest import REVIEW_NOW as NOW
from tests.services.conftest import create_review_request

PERSONAL = ("山田", "太郎", "taro@example.co.jp", "03-1234-5678", "0312345678", "A1234567", "サンプル")


def propose(settings, registry, request_type, **details):
    reference = create_review_request(settings, registry, request_type, **details)
    with unit_of_work(settings) as session:
        return review.propose(session, settings, reference, registry=registry, now=NOW)


def rows(settings, reference) -> dict[str, DecisionItem]:
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        return {r.item_key: r for r in review.items_of(session, request)}


def events(settings, reference, prefix) -> list[AuditEvent]:
    with unit_of_work(settings) as session:
        return [
            e
            for e in session.exec(
                select(AuditEvent).where(AuditEvent.subject_ref == reference).order_by(AuditEvent.seq)
            )
            if e.action.startswith(prefix)
        ]


def by_key(summary):
    return {i.item_key: i for i in summary.items}


def test_disclosure_proposes_an_item_per_system_and_hides_authority_data(review_desk):
    settings, registry, load = review_desk
    load()
    summary = propose(settings, registry, "disclosure", include_third_party_records=True)
    items = by_key(summary)
    assert set(items) == set(registry.keys()) | {"third_party_records"}
    assert items["support"].proposed_action is ItemAction.NOT_HELD  # authority inquiry (Order Art. 5)
    assert items["support"].reasons == [R.NO_RETAINED_PERSONAL_DATA]
    billing = items["billing"]
    assert (billing.proposed_action, billing.system_action, billing.record_count) == (
        ItemAction.GRANT,
        SystemAction.EXPORT,
        3,
    )
    assert items["third_party_records"].proposed_action is ItemAction.GRANT  # consent: recorded
    assert (summary.outcome, summary.reasons) == (Outcome.GRANTED, [])
    stored = rows(settings, summary.reference)
    assert stored["billing"].record_count == 3 and stored["billing"].system_action == "export"
    assert all(r.final_action is None for r in stored.values())


def test_gathered_facts_come_from_the_systems_and_the_app_database(review_desk):
    settings, registry, load = review_desk
    load(
        marketing={"consented": True, "opted_out": True, "mailed_after_opt_out": True},
        third_party_provisions=[
            {"recipient": "X社", "basis": "consent", "provided_at": "2026-04-01"},
            {"recipient": "Y社", "basis": "outsourcing", "provided_at": "2026-05-01"},
        ],
    )
    reference = create_review_request(
        settings,
        registry,
        "correction",
        ground_codes=[],
        corrections=[{"field": "phone", "requested": "090-0000-0000"}],
    )
    with unit_of_work(settings) as session:
        facts, counts = gather_facts(session, load_request(session, reference), registry=registry)
    holdings = {h.system_key: h for h in facts.holdings}
    assert holdings["billing"].retention_duty and SystemAction.ERASE not in holdings["billing"].actions
    assert holdings["marketing"].advertising and not holdings["orders"].advertising
    assert holdings["support"].origin == "authority_inquiry" and holdings["support"].values == {}
    assert holdings["customers"].values == {"phone": "03-1234-5678"}
    assert "phone" not in holdings["points"].values  # points keeps no phone
    assert facts.recorded.marketing_after_opt_out
    assert facts.recorded.provision_bases == (("consent", False), ("outsourcing", False))
    assert [p.request_type for p in facts.prior_requests] == ["disclosure"]  # from the fixture
    assert counts == {h.system_key: h.record_count for h in facts.holdings}


def test_erasure_restricts_billing_for_its_retention_duty_and_erases_elsewhere(review_desk):
    """With a ground that holds for every system, billing is kept (bookkeeping law) but
    restricted; a ground on record today exists only for marketing mail after an opt-out."""
    settings, registry, load = review_desk
    load()
    reference = create_review_request(settings, registry, "erasure", ground_codes=["rights_harmed"])
    with unit_of_work(settings) as session:
        facts, _ = gather_facts(session, load_request(session, reference), registry=registry)
    facts = dataclasses.replace(facts, recorded=dataclasses.replace(facts.recorded, former_contact=True))
    items = {i.key: i for i in prescreen(facts).items}
    billing = items.pop("billing")
    assert (billing.action, billing.reasons, billing.system_action) == (
        ItemAction.ALTERNATIVE,
        (R.LEGAL_RETENTION_DUTY,),
        SystemAction.RESTRICT,
    )
    assert items.pop("support").action is ItemAction.NOT_HELD
    assert {(i.action, i.system_action) for i in items.values()} == {(ItemAction.GRANT, SystemAction.ERASE)}


def test_erasure_after_mail_despite_opt_out_needs_the_officers_sign_off(review_desk):
    settings, registry, load = review_desk
    load(marketing={"consented": True, "opted_out": True, "mailed_after_opt_out": True})
    summary = propose(settings, registry, "erasure", ground_codes=["rights_harmed"])
    items = by_key(summary)
    assert (items["marketing"].proposed_action, items["marketing"].system_action) == (
        ItemAction.GRANT,
        SystemAction.ERASE,
    )
    assert items["billing"].reasons == [R.NO_STATUTORY_GROUND]
    assert summary.outcome is Outcome.PARTIALLY_GRANTED
    with unit_of_work(settings) as session:
        decision = review.decide(session, settings, summary.reference, None, actor="op", now=NOW)
    assert decision == review.Decision(Outcome.PARTIALLY_GRANTED, (R.NO_STATUTORY_GROUND,), True)
    assert rows(settings, summary.reference)["marketing"].final_system_action == "erase"


def test_erasure_without_grounds_is_refused(review_desk):
    settings, registry, load = review_desk
    load()
    summary = propose(settings, registry, "erasure")
    held = [i for i in summary.items if i.proposed_action is not ItemAction.NOT_HELD]
    assert held and all(i.reasons == [R.NO_STATUTORY_GROUND] and i.system_action is None for i in held)
    assert (summary.outcome, summary.reasons) == (Outcome.REFUSED, [R.NO_STATUTORY_GROUND])
    with unit_of_work(settings) as session:
        decision = review.decide(session, settings, summary.reference, None, actor="op", now=NOW)
        assert review.outcome(session, summary.reference) == (Outcome.REFUSED, [R.NO_STATUTORY_GROUND])
    assert decision.needs_approval


def test_correction_to_the_value_already_held_is_content_accurate(review_desk):
    settings, registry, load = review_desk
    load()
    summary = propose(
        settings,
        registry,
        "correction",
        corrections=[
            {"field": "phone", "current": "03-1234-5678", "requested": "０３－１２３４－５６７８"},
            {"field": "company", "requested": "株式会社ニューサンプル"},
        ],
    )
    items = by_key(summary)
    assert items["customers:phone"].reasons == [R.CONTENT_ACCURATE]
    assert items["customers:company"].proposed_action is ItemAction.GRANT
    assert items["customers:company"].system_action is SystemAction.RECTIFY
    assert "support:phone" not in items  # held only through an authority's inquiry: not revealed
    assert summary.outcome is Outcome.PARTIALLY_GRANTED


def test_repeated_identical_requests_count_the_same_principals_earlier_ones(review_desk):
    settings, registry, load = review_desk
    load()
    create_review_request(settings, registry, "disclosure", received_at=NOW - timedelta(days=10))
    create_review_request(settings, registry, "disclosure", email="other@example.co.jp")
    reference = create_review_request(settings, registry, "disclosure")
    create_review_request(settings, registry, "disclosure", received_at=NOW + timedelta(days=1))
    with unit_of_work(settings) as session:
        facts, _ = gather_facts(session, load_request(session, reference), registry=registry)
    assert len(facts.prior_requests) == 2  # the fixture's and ten days ago; not later, not others
    assert prescreen(facts).outcome is Outcome.GRANTED  # repetition alone is not enough
    refused = prescreen(facts, PrescreenPolicy(complex_min_records=10))
    assert {i.reasons for i in refused.items if i.action is ItemAction.REFUSE} == {(R.BUSINESS_INTERFERENCE,)}


def test_proposing_twice_keeps_items_and_the_operators_decisions(review_desk):
    settings, registry, load = review_desk
    load()
    first = propose(settings, registry, "disclosure")
    with unit_of_work(settings) as session:
        review.decide(
            session,
            settings,
            first.reference,
            {"orders": (ItemAction.REFUSE, [R.BUSINESS_INTERFERENCE])},
            actor="op",
            now=NOW,
        )
    with unit_of_work(settings) as session:
        again = review.propose(session, settings, first.reference, registry=registry, now=NOW)
    assert again == first
    stored = rows(settings, first.reference)
    assert len(stored) == len(first.items)
    assert (stored["orders"].final_action, stored["orders"].final_reasons) == (
        "refuse",
        ["business_interference"],
    )
    assert stored["orders"].final_system_action is None and stored["billing"].final_system_action == "export"
    with unit_of_work(settings) as session:
        assert review.outcome(session, first.reference) == (
            Outcome.PARTIALLY_GRANTED,
            [R.BUSINESS_INTERFERENCE],
        )


def test_an_invalid_decision_writes_nothing(review_desk):
    settings, registry, load = review_desk
    load()
    summary = propose(settings, registry, "erasure", ground_codes=["rights_harmed"])
    bad = {
        "orders": ("refuse", ["no_such_code"]),
        "billing": ("grant", ["content_accurate"]),
        "nowhere": ("grant", []),
        "points": ("maybe", []),
    }
    with pytest.raises(review.DecisionInvalid) as caught, unit_of_work(settings) as session:
        review.decide(session, settings, summary.reference, bad, actor="op", now=NOW)
    assert set(caught.value.problems) == set(bad)
    assert all(r.final_action is None for r in rows(settings, summary.reference).values())
    assert events(settings, summary.reference, "request.review.decided") == []


def test_a_grant_the_system_cannot_carry_out_is_refused(review_desk):
    """Billing keeps invoices by law: its connector cannot erase, so erasing it is no decision."""
    settings, registry, load = review_desk
    load()
    summary = propose(settings, registry, "erasure", ground_codes=["rights_harmed"])
    supported = {info.key: info.actions for info in registry}
    with pytest.raises(review.DecisionInvalid) as caught, unit_of_work(settings) as session:
        review.decide(
            session,
            settings,
            summary.reference,
            {"billing": ("grant", [])},
            actor="op",
            now=NOW,
            supported=supported,
        )
    assert caught.value.problems == {"billing": ["system billing cannot erase"]}
    with unit_of_work(settings) as session:  # what it can do is accepted
        review.decide(
            session,
            settings,
            summary.reference,
            {"orders": ("grant", [])},
            actor="op",
            now=NOW,
            supported=supported,
        )
    assert rows(settings, summary.reference)["orders"].final_system_action == "erase"


def test_operator_grant_derives_the_system_action(review_desk):
    settings, registry, load = review_desk
    load()
    summary = propose(settings, registry, "erasure", ground_codes=["rights_harmed"])
    with unit_of_work(settings) as session:
        decision = review.decide(
            session,
            settings,
            summary.reference,
            {"orders": ("grant", []), "billing": ("alternative", ["legal_retention_duty"])},
            actor="op",
            now=NOW,
        )
    stored = rows(settings, summary.reference)
    assert (stored["orders"].final_system_action, stored["billing"].final_system_action) == (
        "erase",
        "restrict",
    )
    assert stored["points"].final_system_action is None and stored["points"].decided_by == "op"
    assert decision.needs_approval
    decided = events(settings, summary.reference, "request.review.decided")
    assert len(decided) == len(summary.items)
    assert {
        "item": "orders",
        "decision": "grant",
        "reasons": [],
        "system_action": "erase",
        "changed": True,
    }.items() <= decided[1].details.items()


def test_officer_approves_or_sends_back(review_desk):
    settings, registry, load = review_desk
    load()
    summary = propose(settings, registry, "erasure")
    with unit_of_work(settings) as session:
        with pytest.raises(review.NotDecided):
            review.approve(session, settings, summary.reference, approved=True, actor="cso", now=NOW)
        review.decide(session, settings, summary.reference, None, actor="op", now=NOW)
        review.approve(
            session, settings, summary.reference, approved=False, actor="cso", note_code="reconsider", now=NOW
        )
    assert all(
        r.final_action is None and r.final_reasons == [] and r.decided_by is None
        for r in rows(settings, summary.reference).values()
    )
    with unit_of_work(settings) as session:
        with pytest.raises(review.NotDecided):
            review.outcome(session, summary.reference)
        review.decide(session, settings, summary.reference, None, actor="op", now=NOW)
        review.approve(session, settings, summary.reference, approved=True, actor="cso", now=NOW)
    with unit_of_work(settings) as session:
        request = load_request(session, summary.reference)
        assert (request.approved_by, request.approved_at) == ("cso", NOW)
    assert [e.action for e in events(settings, summary.reference, "request.approval")] == [
        "request.approval.sent_back",
        "request.approval.granted",
    ]


@pytest.mark.parametrize(
    "request_type, details",
    [
        ("disclosure", {"include_third_party_records": True}),
        (
            "correction",
            {
                "corrections": [
                    {"field": "phone", "current": "03-1234-5678", "requested": "090-1111-2222"},
                    {"field": "name", "requested": "山田 次郎"},
                ]
            },
        ),
    ],
)
def test_summary_and_markdown_hold_no_personal_data(review_desk, request_type, details):
    settings, registry, load = review_desk
    load()
    summary = propose(settings, registry, request_type, **details)
    text = (
        summary.model_dump_json() + review.summary_markdown(summary) + review.summary_markdown(summary, "en")
    )
    text += json.dumps(
        [e.details for e in events(settings, summary.reference, "request.review")], ensure_ascii=False
    )
    assert "顧客マスタ" in text and "Billing" in text
    assert [p for p in (*PERSONAL, "090-1111-2222", "次郎") if p in text] == []
