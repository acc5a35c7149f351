"""Refusal and operator paths, decided as an operator would: from ``madoguchi operator`` on
the waiting flow run (the same form the Prefect UI shows). Every refusal but an identity
failure waits for the privacy officer; the decision notice carries each reason code."""

from sqlmodel import select

from demo import inbox
from models.db import unit_of_work, utcnow
from models.requests import DecisionItem
from models.rules.access import AccountRole
from services import accounts
from services.common import load_request
from tests.flows.conftest import PASSWORD, PRINCIPAL, Run, enter_code, notices_of, submit
from tests.flows.support import (
    actions_of,
    events_of,
    ledgers,
    madoguchi,
    operator,
    reload_subject,
    request_of,
    upload_agent_documents,
)

GROUNDS = {
    "orders": "harm_to_life_or_property",
    "billing": "business_interference",
    "points": "other_law_violation",
    "analytics": "other_law_procedure",
}
AGENT = {"role": "appointed_agent", "name": "代理 花子", "email": "agent@example.jp", "phone": "03-9999-0000"}


def _items(settings, reference) -> dict[str, DecisionItem]:
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        return {
            i.item_key: i
            for i in session.exec(select(DecisionItem).where(DecisionItem.request_id == request.id))
        }


def _status(settings, reference) -> tuple[str, str | None]:
    request = request_of(settings, reference)
    return str(request.status), request.waiting_for and str(request.waiting_for)


def _decision(settings, reference) -> dict:
    notices = notices_of(settings, reference)
    assert [n.kind for n in notices].count("decision") == 1 and notices[-1].kind == "decision"
    assert notices[-1].state == "sent"
    return notices[-1].context


def _actors(settings, reference, action) -> set[str]:
    return {e.actor for e in events_of(settings, reference, action)}


def test_a_principal_whose_details_do_not_match_the_record_is_refused(desk):
    settings = desk
    wrong = {**PRINCIPAL, "login_id": "Z9999999", "phone": "06-0000-0000", "company": "別会社"}
    reference = submit(settings, "disclosure", principal=wrong)
    run = Run(reference)
    run.wait_until_paused()  # every refusal waits for the privacy officer
    operator("approve", reference, user="tanaka")
    assert run.join() == "refused"
    request = request_of(settings, reference)
    assert (request.outcome, request.reason_codes) == ("refused", ["identity_not_verified"])
    assert [n.kind for n in notices_of(settings, reference)] == ["acknowledgement", "decision"]
    assert _decision(settings, reference)["reasons"] == ["identity_not_verified"]
    assert _items(settings, reference) == {}  # no review of someone not verified


def test_an_agent_without_authority_is_refused_by_the_operator(desk):
    settings = desk
    reference = submit(settings, "disclosure", requester=AGENT)
    run = Run(reference)
    run.wait_until_paused()
    assert _status(settings, reference) == ("awaiting_requester", "documents")
    upload_agent_documents(settings, reference, run)
    run.wait_until_paused()  # the operator's form
    operator("identity", reference, "--refuse", "agent_authority_not_shown", user="suzuki")
    run.wait_until_paused()
    operator("approve", reference, user="tanaka")
    assert run.join() == "refused"
    request = request_of(settings, reference)
    assert (request.outcome, request.reason_codes) == ("refused", ["agent_authority_not_shown"])
    notices = notices_of(settings, reference)
    assert [n.kind for n in notices] == ["acknowledgement", "documents_needed", "decision"]
    assert {n.recipient_email for n in notices[1:]} == {AGENT["email"]}  # the agent is answered
    assert _decision(settings, reference)["reasons"] == ["agent_authority_not_shown"]
    assert _actors(settings, reference, "request.identity.decided") == {"operator:suzuki"}
    assert _actors(settings, reference, "request.closed") == {"officer:tanaka"}


def test_an_identity_refusal_sent_back_by_the_officer_is_checked_again(desk):
    """The officer does not sign off: an operator checks the agent again and verifies."""
    settings = desk
    reference = submit(settings, "purpose_notification", requester=AGENT)
    run = Run(reference)
    upload_agent_documents(settings, reference, run)
    run.wait_until_paused()
    operator("identity", reference, "--refuse", "agent_authority_not_shown", user="suzuki")
    run.wait_until_paused()
    operator("approve", reference, "--send-back", user="tanaka")
    run.wait_until_paused()
    operator("identity", reference, user="suzuki")
    run.wait_until_paused()  # now the review
    assert _status(settings, reference)[0] == "review"
    operator("review", reference)
    run.wait_until_paused()
    operator("payment", reference)
    assert run.join() == "completed"
    assert _actors(settings, reference, "request.identity.sent_back") == {"officer:tanaka"}


def test_each_ground_chosen_by_the_operator_is_signed_off_and_partially_granted(desk):
    """Art. 33(2)(i)–(iii) and 33(4), one item each: the officer signs off, the fee is paid,
    the rest is disclosed and the notice gives every reason per item."""
    settings = desk
    reference = submit(settings, "disclosure")
    run = Run(reference)
    enter_code(settings, reference, run)
    run.wait_until_paused()
    assert _status(settings, reference) == ("review", None)
    operator(
        "review",
        reference,
        *[a for key, code in GROUNDS.items() for a in ("--item", f"{key}=refuse:{code}")],
        user="sato",
    )
    run.wait_until_paused()
    assert _status(settings, reference) == ("awaiting_approval", None)
    operator("approve", reference, user="tanaka")
    run.wait_until_paused()
    assert _status(settings, reference) == ("awaiting_requester", "payment")
    operator("payment", reference, "--method", "card", user="sato")
    assert run.join() == "completed"

    request = request_of(settings, reference)
    assert request.outcome == "partially_granted"
    assert sorted(request.reason_codes) == sorted(GROUNDS.values())
    assert request.approved_by == "officer:tanaka"
    items = _items(settings, reference)
    for key, code in GROUNDS.items():
        assert (items[key].final_action, items[key].final_reasons) == ("refuse", [code])
    assert items["customers"].final_action == "grant" and items["support"].final_action == "not_held"
    context = _decision(settings, reference)
    by_system = {i["system"]: i for i in context["items"]}
    for key, code in GROUNDS.items():
        assert by_system[key] == {"system": key, "outcome": "refused", "reasons": [code]}
    assert f"/packages/{reference}?token=" in inbox.text_of(
        inbox.messages(settings.sendgrid_host, reference)[-1]
    )
    assert _actors(settings, reference, "request.review.decided") == {"operator:sato"}
    assert _actors(settings, reference, "request.approval.granted") == {"officer:tanaka"}
    assert _actors(settings, reference, "request.fee.paid") == {"operator:sato"}
    assert actions_of(settings, reference) == {}  # a disclosure acts on no system


def test_a_refusal_sent_back_by_the_officer_is_reviewed_again_then_refused(desk):
    settings = desk
    reference = submit(settings, "purpose_notification")
    run = Run(reference)
    enter_code(settings, reference, run)
    run.wait_until_paused()
    operator("review", reference, "--item", "purposes=refuse:business_interference")
    run.wait_until_paused()
    assert _status(settings, reference) == ("awaiting_approval", None)
    operator("approve", reference, "--send-back", user="tanaka")
    run.wait_until_paused()  # the review is asked again, from the proposal
    assert _status(settings, reference) == ("review", None)
    assert _items(settings, reference)["purposes"].final_action is None
    operator("review", reference, "--item", "purposes=refuse:harm_to_life_or_property", user="sato")
    run.wait_until_paused()
    operator("approve", reference, user="tanaka")
    assert run.join() == "refused"

    request = request_of(settings, reference)
    assert (request.outcome, request.reason_codes) == ("refused", ["harm_to_life_or_property"])
    assert _decision(settings, reference)["reasons"] == ["harm_to_life_or_property"]
    kinds = [n.kind for n in notices_of(settings, reference)]
    assert "fee_request" not in kinds  # a refusal is not charged
    assert _actors(settings, reference, "request.approval.sent_back") == {"officer:tanaka"}
    decided = events_of(settings, reference, "request.review.decided")
    assert [(e.actor, e.details["decision"]) for e in decided] == [
        ("operator:sato", "refuse"),
        ("operator:sato", "refuse"),
    ]


def test_the_command_line_decides_as_the_account_logged_in_and_only_as_the_rules_allow(desk):
    """The gate's rules at the command line: a wrong password is no login, an operator cannot
    sign off as the officer, the officer cannot sign off a review they decided themselves; a
    refused call leaves the run waiting on the same form. The trail names the accounts."""
    settings = desk
    reference = submit(settings, "purpose_notification")
    run = Run(reference)
    enter_code(settings, reference, run)
    run_id = run.wait_until_paused()
    wrong = madoguchi("operator", "review", reference, user="sato", password="not sato's password")
    assert wrong.exit_code == 1 and "sato: login refused" in wrong.output
    assert _pause_key(run_id) == "operator-review-0-0-0"
    operator("review", reference, "--item", "purposes=refuse:business_interference", user="tanaka")
    run.wait_until_paused()
    assert _pause_key(run_id) == "officer-approval-0"

    as_officer = madoguchi("operator", "approve", reference, user="sato")
    assert as_officer.exit_code == 1 and "needs the role officer, not operator" in as_officer.output
    own_review = madoguchi("operator", "approve", reference, user="tanaka")
    assert own_review.exit_code == 1 and "four eyes: tanaka made the decision" in own_review.output
    assert _pause_key(run_id) == "officer-approval-0"  # still waiting, on the same form
    assert request_of(settings, reference).status == "awaiting_approval"

    with unit_of_work(settings) as session:
        accounts.add(session, settings, "kato", AccountRole.OFFICER, PASSWORD, actor="test", now=utcnow())
    operator("approve", reference, user="kato")
    assert run.join() == "refused"
    assert _actors(settings, reference, "request.review.decided") == {"operator:tanaka"}
    assert _actors(settings, reference, "request.approval.granted") == {"officer:kato"}


def _pause_key(run_id: str) -> str:
    from uuid import UUID

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(run_id)).state
    assert state.is_paused()
    return state.state_details.pause_key


def test_an_unpaid_fee_closes_the_request(desk):
    settings = desk
    reference = submit(settings, "disclosure")
    run = Run(reference)
    enter_code(settings, reference, run)
    run.wait_until_paused()
    operator("review", reference)  # the pre-screen's proposal, confirmed
    run.wait_until_paused()
    assert _status(settings, reference) == ("awaiting_requester", "payment")
    operator("payment", reference, "--unpaid")
    assert run.join() == "closed"
    request = request_of(settings, reference)
    assert (request.outcome, request.reason_codes) == (None, ["unpaid_fee"])
    context = _decision(settings, reference)
    assert context["reasons"] == ["unpaid_fee"] and "package_url" not in context
    assert "fee_request" in [n.kind for n in notices_of(settings, reference)]


def test_erasure_of_billing_data_under_a_retention_duty_becomes_a_restriction(desk):
    """The operator grants erasure of the marketing list (mail after an opt-out) and, for the
    bookkeeping records another law requires keeping, restricts them instead."""
    settings = desk
    reload_subject(settings, marketing={"consented": True, "opted_out": True, "mailed_after_opt_out": True})
    reference = submit(settings, "erasure", details={"ground_codes": ["rights_harmed"]})
    run = Run(reference)
    enter_code(settings, reference, run)
    run.wait_until_paused()
    operator("review", reference, "--item", "billing=grant")  # billing's connector cannot erase
    run.wait_until_paused()  # the same review, asked again with the reason above the form
    assert _status(settings, reference) == ("review", None)
    assert _items(settings, reference)["billing"].final_action is None
    operator("review", reference, "--item", "billing=alternative:legal_retention_duty")
    run.wait_until_paused()
    operator("approve", reference, user="tanaka")
    assert run.join() == "completed"
    request = request_of(settings, reference)
    assert request.outcome == "partially_granted"
    assert "legal_retention_duty" in request.reason_codes
    actions = actions_of(settings, reference)
    assert {k: a.state for k, a in actions.items()} == {
        ("billing", "restrict"): "done",
        ("marketing", "erase"): "done",
    }
    applied = ledgers(settings)
    assert applied["billing"] == [actions[("billing", "restrict")].idempotency_key]
    assert applied["marketing"] == [actions[("marketing", "erase")].idempotency_key]
    by_system = {i["system"]: i for i in _decision(settings, reference)["items"]}
    assert by_system["billing"] == {
        "system": "billing",
        "outcome": "restricted",
        "reasons": ["legal_retention_duty"],
    }
