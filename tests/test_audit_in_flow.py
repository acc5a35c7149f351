"""Inside a Prefect run, every audit event carries the flow-run id without being told it."""

from prefect import flow

from models.audit import audit_key, record, trail_of
from models.db import unit_of_work, utcnow
from models.schema import upgrade


def test_events_recorded_in_a_flow_run_carry_its_id(settings, prefect_api):
    upgrade(settings)
    key = audit_key("k")

    @flow(flow_run_name="R-FLOW-TEST")
    def step() -> str:
        from prefect.runtime import flow_run

        with unit_of_work(settings) as session:
            record(
                session,
                key=key,
                at=utcnow(),
                actor="system",
                action="request.step",
                subject_ref="R-FLOW-TEST",
            )
        return flow_run.id

    run_id = step()
    with unit_of_work(settings) as session:
        record(session, key=key, at=utcnow(), actor="cli", action="request.note", subject_ref="R-FLOW-TEST")
        inside, outside = trail_of(session, "R-FLOW-TEST")
    assert inside.flow_run_id == run_id and run_id
    assert outside.flow_run_id is None
