"""The operator's and officer's forms: no decision by default, Japanese titles and labels, the
pre-screen's summary above the review form, and waits that say whose they are. The refusals
are the real Prefect server's, on a real paused lifecycle run."""

import json
import re
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.responses import SetStateStatus
from prefect.input import keyset_from_paused_state
from prefect.states import Running

from cli.operator import review_input
from flows import contractor_inputs, inputs
from flows.forms import filled, wait_text
from flows.incidents import IncidentTriage, PublicNotice, ReportFiled
from flows.inquiries import InquiryAnswer
from flows.provision import ProvisionDecision
from flows.waits import wake
from tests.flows.conftest import Run, enter_code, submit
from tests.flows.support import events_of, operator, request_of

FORMS = [
    inputs.IdentityReview,
    inputs.Approval,
    inputs.Payment,
    inputs.FailedAction,
    inputs.review_form([{"item_key": "customers", "proposed_action": "grant", "proposed_reasons": []}]),
    contractor_inputs.ContractorApproval,
    contractor_inputs.DeletionCertificate,
    ProvisionDecision,
    InquiryAnswer,
    IncidentTriage,
    PublicNotice,
    *ReportFiled.values(),
]
DECISIONS = {
    "IncidentTriage": "triage",
    "ReportFiled": "filed_on",
    "PublicNotice": "public_notice",
    "IdentityReview": "outcome",
    "Approval": "approve",
    "Payment": "paid",
    "FailedAction": "decision",
    "FeasibilityReview": "customers__action",
    "ContractorApproval": "decision",
    "DeletionCertificate": "disposition",
    "ProvisionDecision": "decision",
}
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.__name__)
def test_every_field_has_a_japanese_title_no_decision_has_a_default_and_nobody_types_a_name(form):
    schema = form.model_json_schema()
    for name, prop in schema["properties"].items():
        assert JAPANESE.search(prop["title"]), (name, prop["title"])
        for label in prop.get("enum", []):  # what Prefect's UI lists
            assert JAPANESE.search(label), (name, label)
    required = set(schema.get("required", []))
    assert not {"operator", "officer", "actor"} & set(schema["properties"])  # the gate names who answered
    assert schema["additionalProperties"] is False and set(schema["patternProperties"]) == {"^actor$"}
    if form.__name__ in DECISIONS:
        assert DECISIONS[form.__name__] in required


def test_the_text_above_a_form_takes_references_and_names_other_texts_by_key():
    assert wait_text("approval", reference="R-261206-ABC123", what="identity_refusal") == (
        "**R-261206-ABC123**: 本人確認不成立による拒否の承認をお願いします。"
    )
    with pytest.raises(TypeError):  # nothing else reaches the text Prefect stores
        wait_text("approval", reference="R-261206-ABC123", name_of_requester="山田")  # type: ignore[call-arg]


def test_choices_are_given_by_code_and_read_back_as_codes():
    answer = filled(inputs.Approval, approve="send_back")
    assert answer == {"approve": "差し戻す（担当者が判断し直す）"}  # no actor: the gate or the login adds it
    assert filled(inputs.Approval, approve="send_back", actor="tanaka") == {**answer, "actor": "tanaka"}
    assert inputs.Approval(**answer).approve.code == "send_back"
    with pytest.raises(ValueError):
        filled(inputs.Payment, paid="paid", operator="佐藤")  # a typed name is not taken


def _state(run_id):
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(run_id)).state


def test_an_empty_resume_or_one_without_an_account_is_no_answer_and_the_run_keeps_waiting(desk):
    settings = desk
    reference = submit(settings, "disclosure")
    run = Run(reference)
    enter_code(settings, reference, run)
    run_id = run.wait_until_paused()
    state = _state(run_id)
    assert state.state_details.pause_key == "operator-review-0-0-0"  # whose wait it is
    keyset = keyset_from_paused_state(state)

    with get_client(sync_client=True) as client:  # the form the UI renders, as the server holds it
        schema = json.loads(client.read_flow_run_input(UUID(run_id), keyset["schema"]))
        description = client.read_flow_run_input(UUID(run_id), keyset["description"])
        refused = client.resume_flow_run(UUID(run_id), run_input={})  # Resume with nothing chosen
        refused_name = client.resume_flow_run(
            UUID(run_id),
            run_input={  # a typed name
                **review_input(reference, [], ""),
                "operator": "sato",
            },
        )
    props = schema["properties"]
    assert "operator" not in props and "actor" not in props  # the UI shows no name to type
    assert props["customers__action"]["title"] == "customers：判断"
    assert props["customers__action"]["enum"] == [
        "実施する",
        "代替措置をとる",
        "実施しない",
        "保有していない",
    ]
    assert "default" not in props["customers__action"] and "customers__action" in schema["required"]
    assert "担当者の判断待ち" in description and reference in description
    assert "| `customers` | 顧客マスタ | 1 | 実施する |" in description  # counts and the proposal
    assert "山田" not in description and "taro@" not in description

    assert refused.status == SetStateStatus.REJECT and "required" in refused.details.reason
    assert refused_name.status == SetStateStatus.REJECT
    assert not wake(run_id)  # the requester's action does not answer the operator's form
    assert _state(run_id).is_paused() and _state(run_id).state_details.pause_key == "operator-review-0-0-0"
    assert request_of(settings, reference).status == "review"

    with get_client(sync_client=True) as client:  # set Running by hand: no answer at all
        client.set_flow_run_state(UUID(run_id), Running(), force=True)
    run.wait_until_paused(after=1)  # asked again: operator-review-0-0-0-again-1
    assert _state(run_id).state_details.pause_key == "operator-review-0-0-0-again-1"
    assert wake(run_id, review_input(reference, [], ""))  # resumed past the gate: nobody's answer
    run.wait_until_paused(after=2)  # no decision: asked again
    assert _state(run_id).state_details.pause_key == "operator-review-0-0-0-again-2"
    assert not events_of(settings, reference, "request.review.decided")
    operator("review", reference, user="sato")
    run.wait_until_paused()
    assert _state(run_id).state_details.pause_key == "operator-payment"
    operator("payment", reference, user="sato")
    assert run.join() == "completed"
    assert {e.actor for e in events_of(settings, reference, "request.review.decided")} == {"operator:sato"}


def test_an_answer_does_not_resume_a_wait_for_the_requester(desk):
    settings = desk
    reference = submit(settings, "purpose_notification")
    run = Run(reference)
    run_id = run.wait_until_paused()  # for the one-time code
    assert not wake(run_id, filled(inputs.Payment, paid="paid", actor="sato"))
    assert _state(run_id).is_paused()
    enter_code(settings, reference, run)
    run.wait_until_paused(after=0)
    operator("review", reference)
    run.wait_until_paused()  # the fee
    operator("payment", reference)
    assert run.join() == "completed"
