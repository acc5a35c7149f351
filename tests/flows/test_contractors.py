"""The contractor run on a real Prefect server: from application to offboarding with the
privacy officer's forms answered through the command line (the same resume the UI gives),
the contractor's records found for a disclosure while registered and gone from the registry after;
a contractor rejected on a hard blocker without a wait; re-running changes nothing twice."""

from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlmodel import select

from demo.systems import delivery_contractor
from deployments.registry import build_registry, registry_for
from models.audit import AuditEvent
from models.db import unit_of_work, utcnow
from models.requests import DecisionItem
from models.settings import get_settings
from services import contractor_supervision as supervision
from services import contractors as service
from systems import db as systems_db
from tests.flows.conftest import FlowThread, Run, enter_code, submit
from tests.flows.support import madoguchi, request_of
from tests.services.test_contractors import application


def contractor_run_id(reference: str) -> str | None:
    with unit_of_work() as session:
        return service.load_contractor(session, reference).flow_run_id


def contractor_run(reference: str) -> FlowThread:
    """The contractor flow in a thread, as a worker would run it."""
    from flows.contractors import contractor

    return FlowThread(contractor, reference, contractor_run_id)


def apply(settings, **changes) -> str:
    with unit_of_work(settings) as session:
        return service.apply(
            session, settings, application(**changes), registry=build_registry(settings), now=utcnow()
        )


def trail(settings, reference) -> list[str]:
    with unit_of_work(settings) as session:
        return [
            e.action
            for e in session.exec(
                select(AuditEvent).where(AuditEvent.subject_ref == reference).order_by(AuditEvent.seq)
            )
        ]


def cli(*args: str) -> None:
    """``madoguchi contractor …`` as the privacy officer, logged in."""
    result = madoguchi("contractor", *args, user="tanaka")
    assert result.exit_code == 0, result.output


def hand_over_consignments(settings, key: str) -> None:
    """The new contractor receives the consignments the delivery contractor holds."""
    registry = registry_for(settings)
    table = delivery_contractor.consignments
    source = systems_db.ensure_schema(registry.url("delivery_contractor"), delivery_contractor.metadata)
    target = systems_db.ensure_schema(registry.url(key), delivery_contractor.metadata)
    with source.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa_select(table))]
    with target.begin() as conn:
        conn.execute(insert(table), rows)


def test_a_contractor_from_application_to_offboarding(desk, monkeypatch):
    settings = desk
    reference = apply(settings)
    key = service.system_key(reference)
    run = contractor_run(reference)
    run.wait_until_paused()  # the privacy officer's approval
    assert key not in registry_for(settings).keys()
    cli("approve", reference)
    assert run.join() == "active"
    with unit_of_work(settings) as session:
        row = service.load_contractor(session, reference)
        assert service.latest(session, row, "onboarding").approved_by == "officer:tanaka"
    assert row.next_reassessment_at is not None and row.certification_expires_at is not None
    assert key in registry_for(settings).keys()

    # registered: a request reaches the data it holds, through its partner API
    hand_over_consignments(settings, key)
    monkeypatch.setenv("MADOGUCHI_AUTOPILOT", "1")
    get_settings.cache_clear()
    request = submit(get_settings(), "disclosure")
    request_run = Run(request)
    enter_code(get_settings(), request, request_run)
    assert request_run.join() == "completed"
    with unit_of_work(settings) as session:
        item = session.exec(
            select(DecisionItem).where(
                DecisionItem.request_id == request_of(settings, request).id, DecisionItem.system_key == key
            )
        ).one()
    assert item.record_count > 0 and item.final_action == "grant"
    monkeypatch.delenv("MADOGUCHI_AUTOPILOT")
    get_settings.cache_clear()

    # offboarding: access revoked at once, the run waits for the deletion certificate
    with unit_of_work(settings) as session:
        supervision.revoke(session, settings, reference, now=utcnow(), actor="officer:cso")
    assert key not in registry_for(settings).keys()
    run = contractor_run(reference)
    run.wait_until_paused()
    cli("certificate", reference, "DEL-2026-0042")
    assert run.join() == "offboarded"
    with unit_of_work(settings) as session:
        row = service.load_contractor(session, reference)
        assert service.latest(session, row, "offboarding").answers["certificate"] == "DEL-2026-0042"
    assert trail(settings, reference)[-2:] == ["contractor.data_disposed", "contractor.status"]

    # again: nothing is done twice
    before = trail(settings, reference)
    assert contractor_run(reference).join() == "offboarded"
    assert trail(settings, reference) == before


def test_a_contractor_rejected_on_a_hard_blocker(desk):
    settings = desk
    reference = apply(settings, questionnaire__accepts_breach_notice=False)
    assert contractor_run(reference).join() == "rejected"  # no wait for the officer
    events = trail(settings, reference)
    assert events == ["contractor.applied", "contractor.assessed", "contractor.status"]
    assert contractor_run(reference).join() == "rejected"
    assert trail(settings, reference) == events
    assert service.system_key(reference) not in registry_for(settings).keys()


def test_the_officer_is_asked_again_when_approving_a_contract_with_a_missing_clause(desk):
    settings = desk
    reference = apply(settings, contract__clauses=["confidentiality"])
    run = contractor_run(reference)
    run.wait_until_paused()
    cli("approve", reference)  # refused by the rules: asked again
    run.wait_until_paused()
    cli("approve", reference, "--reject", "--reason", "contract_incomplete")
    assert run.join() == "rejected"
    assert "contractor.approval" in trail(settings, reference)
