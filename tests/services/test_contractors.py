"""Contractor services without Prefect: application, assessment, the officer's decision,
registration in the registry, reassessment and offboarding; each step idempotent and audited."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlmodel import select

from demo.systems import DEFINITIONS
from deployments.registry import build_registry, registry_for
from models.audit import AuditEvent
from models.contractor_application import ContractorApplication, QuestionnaireIn
from models.contractors import ContractorAssessment
from models.db import unit_of_work
from models.rules.deadlines import jst_date
from models.schema import upgrade
from services import contractor_supervision as supervision
from services import contractors as service

EXAMPLE = Path(__file__).parents[2] / "examples" / "contractor_application.json"
NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def application(**changes) -> ContractorApplication:
    body = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = body
        for p in parents:
            node = node[p]
        node[leaf] = value
    return ContractorApplication.model_validate(body)


@pytest.fixture
def desk(settings):
    upgrade(settings)
    return settings


def apply(settings, data=None, now=NOW) -> str:
    with unit_of_work(settings) as session:
        return service.apply(
            session, settings, data or application(), registry=build_registry(settings), now=now
        )


def step(settings, fn, *args, **kwargs):
    with unit_of_work(settings) as session:
        return fn(session, settings, *args, **kwargs)


def contractor(settings, reference):
    with unit_of_work(settings) as session:
        return service.load_contractor(session, reference)


def actions(settings, reference) -> list[str]:
    with unit_of_work(settings) as session:
        return [
            e.action
            for e in session.exec(
                select(AuditEvent).where(AuditEvent.subject_ref == reference).order_by(AuditEvent.seq)
            )
        ]


def onboard(settings) -> str:
    reference = apply(settings)
    assert step(settings, service.assess, reference, now=NOW).proposal == "approve"
    step(settings, service.decide, reference, approve=True, actor="officer:cso", now=NOW)
    step(settings, service.register, reference, now=NOW)
    return reference


def test_application_is_validated_before_any_row_exists(desk):
    with pytest.raises(ValidationError):
        application(locations=[{"country": "japan"}])
    with pytest.raises(ValidationError):
        application(questionnaire__answers={"technical": 4})
    with pytest.raises(service.ApplicationInvalid, match="unknown systems"):
        apply(desk, application(systems=["payroll"]))
    with pytest.raises(service.ApplicationInvalid, match="unknown data categories"):
        apply(desk, application(data_categories=["health_records"]))
    with unit_of_work(desk) as session:
        assert session.exec(select(ContractorAssessment)).all() == []


def test_onboarding_approves_registers_and_schedules_supervision(desk):
    reference = onboard(desk)
    row = contractor(desk, reference)
    assert row.status == "active"
    assert jst_date(row.next_reassessment_at).isoformat() == "2027-11-02"
    assert jst_date(row.certification_expires_at).isoformat() == "2028-03-31"
    key = service.system_key(reference)
    registry = registry_for(desk)
    assert registry.keys() == (*DEFINITIONS, key)  # the demo systems as before, then the contractor
    info = registry.info(key)
    assert info.contractor == "株式会社みなと配送" and [c.key for c in info.categories] == ["consignments"]
    assert actions(desk, reference) == [
        "contractor.applied",
        "contractor.assessed",
        "contractor.status",
        "contractor.approval",
        "contractor.status",
        "contractor.registered",
        "contractor.status",
    ]
    # every step again: nothing changes, nothing is audited twice
    step(desk, service.assess, reference, now=NOW)
    step(desk, service.decide, reference, approve=False, actor="officer:cso", now=NOW)
    step(desk, service.register, reference, now=NOW)
    assert len(actions(desk, reference)) == 7 and contractor(desk, reference).status == "active"


@pytest.mark.parametrize(
    "change, blocker",
    [
        ({"questionnaire__accepts_breach_notice": False}, "no_breach_notice_duty"),
        (
            {"locations": [{"country": "JP"}, {"country": "SG", "role": "handling"}]},
            "unapproved_foreign_storage",
        ),
    ],
)
def test_a_hard_blocker_rejects_without_the_officer(desk, change, blocker):
    reference = apply(desk, application(**change))
    proposal = step(desk, service.assess, reference, now=NOW)
    assert proposal.proposal == "reject" and blocker in proposal.blockers
    assert contractor(desk, reference).status == "rejected"
    assert step(desk, service.decide, reference, approve=True, actor="officer:cso", now=NOW) == "rejected"
    assert service.system_key(reference) not in registry_for(desk).keys()


def test_approval_is_refused_while_a_clause_is_missing(desk):
    reference = apply(desk, application(contract__breach_notice_days=14))  # slower than 5 days
    proposal = step(desk, service.assess, reference, now=NOW)
    assert proposal.missing_clauses == ["breach_notice"] and proposal.proposal == "reject"
    with pytest.raises(service.ApprovalInvalid):
        step(desk, service.decide, reference, approve=True, actor="officer:cso", now=NOW)
    assert (
        step(
            desk,
            service.decide,
            reference,
            approve=False,
            actor="officer:cso",
            now=NOW,
            reason="contract_incomplete",
        )
        == "rejected"
    )


def test_reassessment_on_an_audit_report_suspends_then_restores(desk):
    reference = onboard(desk)
    later = NOW + timedelta(days=30)
    with unit_of_work(desk) as session:
        assert not supervision.needs_reassessment(session, reference, now=later)
    assert not step(desk, supervision.reassess, reference, now=later).reassessed
    weak = QuestionnaireIn(
        answers={}, accepts_breach_notice=True, accepts_audit=False, returns_or_deletes_at_end=True
    )
    step(desk, supervision.request_reassessment, reference, now=later, actor="officer:cso", report=weak)
    result = step(desk, supervision.reassess, reference, now=later)
    assert (result.status, result.blockers) == ("suspended", ["refuses_audit"])
    assert service.system_key(reference) not in registry_for(desk).keys()
    assert not step(desk, supervision.reassess, reference, now=later).reassessed  # nothing pending
    good = application().questionnaire
    step(desk, supervision.request_reassessment, reference, now=later, actor="officer:cso", report=good)
    assert step(desk, supervision.reassess, reference, now=later).status == "active"
    assert jst_date(contractor(desk, reference).next_reassessment_at).isoformat() == "2027-12-02"


def test_the_annual_date_brings_a_reassessment_of_the_last_answers(desk):
    reference = onboard(desk)
    a_year_on = NOW + timedelta(days=366)
    result = step(desk, supervision.reassess, reference, now=a_year_on)
    assert result.reassessed and result.status == "active"
    assert not step(desk, supervision.reassess, reference, now=a_year_on).reassessed


def test_offboarding_revokes_access_and_records_the_certificate(desk):
    reference = onboard(desk)
    key = service.system_key(reference)
    assert key in registry_for(desk).keys()
    step(desk, supervision.revoke, reference, now=NOW, actor="officer:cso")
    assert key not in registry_for(desk).keys()
    with pytest.raises(KeyError):
        registry_for(desk).connector(key)
    assert step(desk, supervision.revoke, reference, now=NOW, actor="officer:cso") == "offboarding"
    step(
        desk,
        supervision.record_disposal,
        reference,
        disposition="deleted",
        certificate="DEL-2026-0042",
        actor="officer:cso",
        now=NOW,
    )
    step(
        desk,
        supervision.record_disposal,
        reference,
        disposition="returned",
        certificate="X",
        actor="officer:cso",
        now=NOW,
    )
    row = contractor(desk, reference)
    assert (row.status, row.next_reassessment_at) == ("offboarded", None)
    with unit_of_work(desk) as session:
        last = service.latest(session, row, "offboarding")
    assert last.answers == {"disposition": "deleted", "certificate": "DEL-2026-0042"}
    assert actions(desk, reference)[-4:] == [
        "contractor.access_revoked",
        "contractor.status",
        "contractor.data_disposed",
        "contractor.status",
    ]
