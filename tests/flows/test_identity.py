"""Identity on the lifecycle, end to end on Prefect's test server: who the requester says
they are decides how they prove it (CONTRACT.md, RULES.md §4)."""

from tests.flows.conftest import PRINCIPAL, Run, enter_code, notices_of, submit
from tests.flows.support import request_of


def test_a_requester_with_the_role_principal_is_the_principal_asking_for_themself(autopilot):
    """CONTRACT.md allows ``requester.role = principal``: one principal, a code to them."""
    settings = autopilot
    reference = submit(settings, "disclosure", requester={**PRINCIPAL, "role": "principal"})
    run = Run(reference)
    enter_code(settings, reference, run)
    assert run.join() == "completed"
    assert request_of(settings, reference).outcome == "granted"
    notices = notices_of(settings, reference)
    assert [n.kind for n in notices] == ["acknowledgement", "one_time_code", "fee_request", "decision"]
    assert {n.recipient_email for n in notices} == {PRINCIPAL["email"]}
