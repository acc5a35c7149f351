"""The postal and phone identity routes on the lifecycle, end to end on Prefect's test server
(docs/rules.md §4, issue 15 §2): a request the help desk entered for a caller is verified by a
call back to the registered number; one that came by post waits for the copy of an identity
document the help desk scans and attaches, and is answered by registered mail."""

import io
import json
import re
from datetime import timedelta
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.input import keyset_from_paused_state
from pypdf import PdfReader
from sqlmodel import select

from models.db import unit_of_work, utcnow
from models.letters import Letter
from models.rules.deadlines import jst_date
from models.rules.identity import Callback
from services import identity, letters
from services.common import load_request
from services.deadlines import close_overdue
from tasks.request import start_identity
from tests.flows.conftest import PRINCIPAL, Run, notices_of
from tests.flows.support import PNG, events_of, madoguchi, operator, request_of

ADDRESS = "東京都千代田区丸の内1-1-1 サンプルビル3階"


def _enter(settings, channel: str, folder) -> str:
    """The help desk's entry at the command line, sato logged in; the principal has an email
    for the acknowledgement."""
    body = folder / "request.json"
    body.write_text(
        json.dumps(
            {"request_type": "disclosure", "principal": PRINCIPAL, "details": {"postal_address": ADDRESS}},
            ensure_ascii=False,
        ),
        "utf-8",
    )
    today = jst_date(utcnow()).isoformat()
    entered = madoguchi("request", "enter", str(body), "--channel", channel, "--received", today, user="sato")
    assert entered.exit_code == 0, entered.output
    return re.search(r"reference\s+(R-\S+)", entered.output)[1]


def _waiting(settings, reference) -> tuple[str, str | None]:
    request = request_of(settings, reference)
    return str(request.status), request.waiting_for and str(request.waiting_for)


def _key(run_id: str) -> str:
    """The pause key of the waiting run."""
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(run_id)).state.state_details.pause_key


def _pause(run_id: str) -> tuple[str, str]:
    """The pause key of the run waiting on a person's form, and the text above the form."""
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(run_id)).state
        description = client.read_flow_run_input(UUID(run_id), keyset_from_paused_state(state)["description"])
    return state.state_details.pause_key, description


def _letter(settings, reference, kind) -> Letter:
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        return session.exec(select(Letter).where(Letter.request_id == request.id, Letter.kind == kind)).one()


def test_a_phone_request_is_verified_by_a_call_back_and_goes_on_to_a_decision(desk, tmp_path):
    settings = desk
    reference = _enter(settings, "phone", tmp_path)
    run = Run(reference)
    key, description = _pause(run.wait_until_paused())
    assert re.fullmatch(r"operator-identity-callback-\d+-0", key)
    assert _waiting(settings, reference) == ("identity_verification", None)  # our call, no pause
    assert f"/desk/requests/{reference}/callback" in description
    assert PRINCIPAL["phone"] not in description and "1234" not in description  # the number: gate only

    operator("callback", reference, "--outcome", "not_reached", user="sato")
    key, description = _pause(run.wait_until_paused(after=1))  # asked again: call again
    assert "つながらなかった回数: 1" in description
    operator("callback", reference, "--outcome", "confirmed", user="suzuki")
    run.wait_until_paused()
    assert _waiting(settings, reference) == ("review", None)
    operator("review", reference)
    run.wait_until_paused()
    operator("payment", reference)
    assert run.join() == "completed"

    assert request_of(settings, reference).outcome == "granted"
    [entered] = events_of(settings, reference, "request.entered")
    assert (entered.actor, entered.details["channel"]) == ("operator:sato", "phone")
    [started] = events_of(settings, reference, "request.identity.route_started")
    assert started.details["route"] == "phone"
    [missed] = events_of(settings, reference, "request.identity.callback_not_reached")
    assert (missed.actor, missed.details["attempts"]) == ("operator:sato", 1)
    [decided] = events_of(settings, reference, "request.identity.decided")
    assert (decided.actor, decided.details["verified"], decided.details["route"]) == (
        "operator:suzuki",
        True,
        "phone",
    )
    kinds = [n.kind for n in notices_of(settings, reference)]
    assert "one_time_code" not in kinds  # the caller proves it by phone, not by a code


def test_a_call_back_on_which_the_details_do_not_match_is_refused_with_the_phone_code(desk, tmp_path):
    settings = desk
    reference = _enter(settings, "phone", tmp_path)
    run = Run(reference)
    run.wait_until_paused()
    operator("callback", reference, "--outcome", "details_mismatch", user="sato")
    run.wait_until_paused()  # the officer signs the refusal off
    operator("approve", reference, user="tanaka")
    assert run.join() == "refused"
    request = request_of(settings, reference)
    assert (request.outcome, request.reason_codes) == ("refused", ["phone_identity_not_verified"])
    [decided] = events_of(settings, reference, "request.identity.decided")
    assert (decided.actor, decided.details["reason"]) == ("operator:sato", "phone_identity_not_verified")


def test_a_call_back_not_made_by_its_deadline_fails_with_the_phone_code(desk, tmp_path):
    """No answer on the form by the third business day (the flow's wait times out): refused."""
    settings = desk
    reference = _enter(settings, "phone", tmp_path)
    start_identity.fn(reference)  # the flow's first step, without the flow
    with unit_of_work(settings) as session:
        check = identity.current_check(session, load_request(session, reference))
        deadline = check.expires_at
        assert (
            identity.decide_route(
                session, settings, reference, Callback.NOT_REACHED, actor="operator:sato", now=utcnow()
            )
            == "pending"
        )
    with unit_of_work(settings) as session:
        state = identity.decide_route(session, settings, reference, None, actor="system", now=deadline)
    assert state == "failed"
    assert request_of(settings, reference).reason_codes == ["phone_identity_not_verified"]


def test_a_postal_request_waits_for_the_scanned_copy_and_is_answered_by_registered_mail(desk, tmp_path):
    settings = desk
    reference = _enter(settings, "post", tmp_path)
    run = Run(reference)
    assert re.fullmatch(r"identity-document-\d+", _key(run.wait_until_paused()))
    assert _waiting(settings, reference) == ("awaiting_requester", "identity_document")

    scan = tmp_path / "scan.png"
    scan.write_bytes(PNG)
    attached = madoguchi("operator", "attach", reference, str(scan), user="tanaka")  # the officer may too
    assert attached.exit_code == 0, attached.output
    key, description = _pause(run.wait_until_paused())  # the operator's check of the copy
    assert re.fullmatch(r"operator-identity-postal-\d+", key)
    [link] = re.findall(r"\(/desk/documents/(\d+)\)", description)
    operator("postal", reference, user="suzuki")
    run.wait_until_paused()
    assert _waiting(settings, reference) == ("review", None)
    operator("review", reference)
    run.wait_until_paused()
    operator("payment", reference)
    assert run.join() == "completed"

    [attached] = events_of(settings, reference, "request.document.received")
    assert (attached.actor, attached.details["kind"], str(attached.details["document_id"])) == (
        "officer:tanaka",
        "identity_document",
        link,
    )
    [decided] = events_of(settings, reference, "request.identity.decided")
    assert (decided.actor, decided.details["route"]) == ("operator:suzuki", "post")

    letter = _letter(settings, reference, "identity_confirmed")
    with unit_of_work(settings) as session:
        printed = letters.printed(session, settings, letter.id, actor="operator:sato", now=utcnow())
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(printed.data)).pages)
    flat = "".join(text.split())
    for words in (
        "ご本人確認完了のお知らせ",
        "書留郵便",
        reference,
        "山田太郎様",
        "丸の内1-1-1",
        "株式会社ビズらく",
    ):
        assert words in flat, words

    without = madoguchi("operator", "letter-sent", str(letter.id), user="sato")
    assert without.exit_code == 2 and "tracking" in without.output
    assert _letter(settings, reference, "identity_confirmed").sent_at is None
    sent = madoguchi("operator", "letter-sent", str(letter.id), "--tracking", "1234-5678-9012", user="sato")
    assert sent.exit_code == 0, sent.output
    assert _letter(settings, reference, "identity_confirmed").tracking_number == "123456789012"
    [posted] = [
        e for e in events_of(settings, reference, "letter.sent") if e.details["kind"] == "identity_confirmed"
    ]
    assert (posted.actor, posted.details["tracking_number"]) == ("operator:sato", "123456789012")


def test_a_postal_request_without_the_copy_by_its_deadline_is_refused_with_the_postal_code(desk, tmp_path):
    """The SLA monitor closes the wait at its deadline, with the postal route's own code."""
    settings = desk
    reference = _enter(settings, "post", tmp_path)
    start_identity.fn(reference)  # the flow's first step, without the flow
    with unit_of_work(settings) as session:
        deadline = identity.current_check(session, load_request(session, reference)).expires_at
        [due] = identity.route_queue(session)
        assert (due.reference, due.route, due.deadline_at) == (reference, "post", deadline)
    with unit_of_work(settings) as session:
        closed = close_overdue(session, settings, now=deadline + timedelta(seconds=1))
    assert [ref for ref, _ in closed] == [reference]
    request = request_of(settings, reference)
    assert (request.status, request.reason_codes) == ("refused", ["postal_identity_not_verified"])


def test_a_phone_refusal_the_officer_sends_back_is_called_back_again(desk, tmp_path):
    """Not signed off: a new call back, with a new deadline, on the same route's form."""
    settings = desk
    reference = _enter(settings, "phone", tmp_path)
    run = Run(reference)
    first, _ = _pause(run.wait_until_paused())
    operator("callback", reference, "--outcome", "details_mismatch", user="sato")
    run.wait_until_paused()
    operator("approve", reference, "--send-back", user="tanaka")
    again, _ = _pause(run.wait_until_paused())
    assert re.fullmatch(r"operator-identity-callback-\d+-0", again) and again != first  # a new check
    operator("callback", reference, "--outcome", "confirmed", user="suzuki")
    run.wait_until_paused()
    operator("review", reference)
    run.wait_until_paused()
    operator("payment", reference)
    assert run.join() == "completed"
    decided = events_of(settings, reference, "request.identity.decided")
    assert [(e.details["route"], e.details["verified"]) for e in decided] == [
        ("phone", False),
        ("phone", True),
    ]
