"""Issue 12: who may answer which wait, four eyes on a sign-off, destructive API calls."""

import pytest

from models.rules.access import (
    AccountRole as R,
)
from models.rules.access import (
    SignOff,
    may_call,
    may_enter_requests,
    may_read_register,
    may_resume,
    may_view_documents,
    name_problems,
    password_problems,
    person_of,
    wait_for,
)

# every key the flows wait on today (flows/lifecycle.py, provision.py, contractors.py, inquiries.py)
KEYS = {
    "identity-1-0": "one_time_code",
    "identity-2-1-again-3": "one_time_code",
    "clarification-0": "clarification",
    "clarification-1-again-1": "clarification",
    "operator-identity-review-7": "document_review",
    "operator-identity-postal-4": "postal_review",
    "operator-identity-callback-5-0": "callback",
    "operator-identity-callback-5-2-again-1": "callback",
    "operator-review-0-0-0": "review",
    "operator-review-2-1-3-again-1": "review",
    "operator-payment": "payment",
    "operator-payment-again-2": "payment",
    "operator-failure-billing-3": "system_failure",
    "operator-failure-delivery_contractor-1-again-1": "system_failure",
    "operator-answer-0": "inquiry_answer",
    "officer-approval-0": "sign_off",
    "officer-approval-1-again-1": "sign_off",
    "officer-identity-approval-7": "identity_sign_off",
    "officer-provision-1": "provision",
    "officer-contractor-approval-0": "contractor_approval",
    "officer-deletion-certificate": "deletion_certificate",
}
OPERATOR_WORK = [
    "operator-review-0-0-0",
    "operator-identity-review-3",
    "operator-identity-postal-3",
    "operator-identity-callback-3-1",
    "operator-payment",
    "operator-failure-orders-2",
    "operator-answer-1",
]
OFFICER_WORK = [
    "officer-approval-0",
    "officer-identity-approval-3",
    "officer-provision-0",
    "officer-contractor-approval-1",
    "officer-deletion-certificate",
]


@pytest.mark.parametrize("key,kind", KEYS.items())
def test_every_wait_of_the_flows_has_its_rule(key, kind):
    assert wait_for(key).kind == kind


@pytest.mark.parametrize(
    "key",
    [
        "",
        "approval-0",
        "review-0-0-0",
        "operator-approval-0",
        "officer-review-0-0-0",
        "officer-approval-1-x",
        "operator-review-1",
        "operator-something-new",
    ],
)
def test_a_wait_no_rule_names_is_answered_by_no_person(key):
    assert wait_for(key) is None
    for role in (R.OPERATOR, R.OFFICER, R.ADMIN):
        assert not may_resume(role, "sato", key).allowed


def test_a_review_and_a_document_review_need_an_operator():
    for key in OPERATOR_WORK:
        assert may_resume(R.OPERATOR, "sato", key).allowed
        assert not may_resume(R.ADMIN, "root", key).allowed


def test_a_sign_off_needs_the_officer():
    for key in OFFICER_WORK:
        verdict = may_resume(R.OPERATOR, "sato", key)
        assert not verdict.allowed and "officer" in verdict.reason
        assert may_resume(R.OFFICER, "suzuki", key).allowed
        assert not may_resume(R.ADMIN, "root", key).allowed


def test_four_eyes_the_officer_cannot_sign_off_their_own_decision():
    for key in ("officer-approval-1", "officer-identity-approval-4"):
        verdict = may_resume(
            R.OFFICER, "suzuki", key, deciders=frozenset({"operator:suzuki", "operator:sato"})
        )
        assert not verdict.allowed and "four eyes" in verdict.reason
        assert may_resume(
            R.OFFICER, "suzuki", key, deciders=frozenset({"operator:sato", "autopilot"})
        ).allowed
    assert may_resume(R.OFFICER, "suzuki", "officer-provision-0", deciders=frozenset({"suzuki"})).allowed


def test_an_officer_may_do_an_operators_work():
    assert may_resume(R.OFFICER, "suzuki", "operator-review-0-0-0").allowed


def test_the_requesters_waits_are_woken_by_the_service_only():
    for key in ("identity-1-0", "clarification-2-again-1", "documents-1"):  # and one added later
        assert may_resume(R.SERVICE, "svc", key).allowed
        for role in (R.OPERATOR, R.OFFICER, R.ADMIN):
            assert not may_resume(role, "sato", key).allowed


def test_the_service_answers_no_persons_form():
    for key in [*OPERATOR_WORK, *OFFICER_WORK, "operator-something-new", "officer-something-new"]:
        verdict = may_resume(R.SERVICE, "svc", key)
        assert not verdict.allowed and "person" in verdict.reason


def test_person_of_an_audited_actor():
    assert person_of("operator:sato") == person_of("sato") == "sato"
    assert person_of("autopilot") == "autopilot"


@pytest.mark.parametrize(
    "method,path",
    [
        ("DELETE", "/flow_runs/6f1c"),
        ("DELETE", "/deployments/6f1c"),
        ("DELETE", "/flows/6f1c"),
        ("DELETE", "/block_documents/6f1c"),
        ("DELETE", "/flow_runs/6f1c/"),
        ("POST", "/flow_runs/bulk_delete"),
        ("POST", "/deployments/bulk_delete"),
        ("PUT", "/admin/storage"),
    ],
)
def test_destructive_calls_are_for_admins(method, path):
    assert may_call(R.ADMIN, method, path).allowed
    for role in (R.OPERATOR, R.OFFICER, R.SERVICE):
        assert not may_call(role, method, path).allowed


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", "/flow_runs/6f1c/set_state"),
        ("POST", "/flow_runs/6f1c/set_state/"),
        ("POST", "/flow_runs/bulk_set_state"),
        ("POST", "/task_runs/6f1c/set_state"),
        ("PATCH", "/flow_runs/6f1c"),
        ("POST", "/flow_runs/6f1c/input"),
        ("POST", "/deployments/"),
        ("PATCH", "/deployments/6f1c"),
        ("POST", "/deployments/6f1c/pause_deployment"),
        ("PATCH", "/work_pools/madoguchi"),
        ("POST", "/automations/"),
        ("PUT", "/automations/6f1c"),
        ("PATCH", "/block_documents/6f1c"),
        ("POST", "/variables/"),
        ("POST", "/events"),
        ("POST", "/logs/"),
        ("POST", "/flow_runs/"),
        ("POST", "/artifacts/"),
    ],
)
def test_people_change_nothing_but_their_answers(method, path):
    """What a worker, a flow or `up` writes is the service's; a person's word is a resume."""
    assert may_call(R.ADMIN, method, path).allowed
    assert may_call(R.SERVICE, method, path).allowed
    for role in (R.OPERATOR, R.OFFICER):
        assert not may_call(role, method, path).allowed


@pytest.mark.parametrize(
    "method,path",
    [
        ("DELETE", "/flow_runs/6f1c/input/paused-1-response"),
        ("DELETE", "/work_pools/madoguchi"),
    ],
)
def test_the_service_deletes_what_flows_and_up_delete(method, path):
    assert may_call(R.SERVICE, method, path).allowed
    assert not may_call(R.OPERATOR, method, path).allowed


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/flow_runs/6f1c"),
        ("GET", "/admin/version"),
        ("POST", "/flow_runs/filter"),
        ("POST", "/flow_runs/6f1c/input/filter"),
        ("POST", "/task_runs/count"),
        ("POST", "/flow_runs/history"),
        ("POST", "/deployments/paginate"),
        ("POST", "/ui/flow_runs/count-task-runs"),
        ("POST", "/ui/schemas/validate"),
        ("POST", "/flow_runs/lateness"),
        ("POST", "/work_pools/madoguchi/queues/filter"),
        ("POST", "/events/count-by/day"),
        ("POST", "/flow_runs/6f1c/resume"),
        ("POST", "/deployments/6f1c/create_flow_run"),
        ("PUT", "/saved_searches/"),
    ],
)
def test_reading_resuming_and_starting_a_process_are_open_to_every_account(method, path):
    for role in R:
        assert may_call(role, method, path).allowed


def test_account_names_are_ascii_login_names():
    assert name_problems("sato") == name_problems("ops.sato-2") == []
    for bad in ("", "a", "Sato", "佐藤", "sato:x", "1sato", "x" * 41, "sa to"):
        assert name_problems(bad)


def test_passwords_are_long_and_do_not_hold_the_name():
    assert password_problems("correct horse battery", "sato") == []
    assert password_problems("short", "sato")
    assert password_problems("sato-is-my-password", "sato")
    assert password_problems(" padded password ", "sato")
    assert password_problems("x" * 257, "sato")


def test_sign_offs_say_what_they_cover():
    assert wait_for("officer-approval-0").four_eyes is SignOff.REVIEW
    assert wait_for("officer-identity-approval-1").four_eyes is SignOff.IDENTITY
    assert wait_for("operator-review-0-0-0").four_eyes is None


def test_only_those_who_judge_documents_view_them():
    assert may_view_documents(R.OPERATOR).allowed and may_view_documents(R.OFFICER).allowed
    assert not may_view_documents(R.ADMIN).allowed and not may_view_documents(R.SERVICE).allowed


def test_the_request_register_is_the_officers():
    assert may_read_register(R.OFFICER).allowed
    assert not any(may_read_register(role).allowed for role in (R.OPERATOR, R.ADMIN, R.SERVICE))


def test_the_help_desk_enters_requests():
    assert may_enter_requests(R.OPERATOR).allowed and may_enter_requests(R.OFFICER).allowed
    assert not may_enter_requests(R.ADMIN).allowed and not may_enter_requests(R.SERVICE).allowed
