"""Issue 15 §3: a request answered on paper, walked end to end on Prefect's test server. The help
desk enters a disclosure received by post on the gate, acknowledged by letter, the data to go
by post; the run waits until each letter it depends on is marked sent (the gate's button wakes
it), identity goes the postal route (a scanned copy, a registered letter), the fee carries the
postage of the sheets posted, and the decision letter goes with the package printed from the
gate. Not one email."""

import io
import re

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import col, select

from models.audit import AuditEvent
from models.db import unit_of_work, utcnow
from models.letters import Letter
from models.requests import DecisionItem, Fee, Request, RequestCreate
from models.rules.deadlines import jst_date
from models.rules.entry import Acknowledgement, Channel
from models.rules.fees import postage_for, sheets_posted
from services import intake
from tests.flows.conftest import PASSWORD, PRINCIPAL, Run, notices_of
from tests.flows.support import PNG, madoguchi, operator, upload, wait_for
from tests.web.conftest import csrf_of
from web.actions import wake_run
from web.gate import create_gate

SATO = ("sato", PASSWORD)
ADDRESS = "〒150-0001 東京都渋谷区神宮前1-2-3"
NOWHERE = "http://127.0.0.1:9"  # the gate's upstream: nothing here calls Prefect's UI through it


def _text(pdf: bytes) -> str:
    return "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def _letters(settings, reference: str) -> list[Letter]:
    with unit_of_work(settings) as session:
        request = session.exec(select(Request).where(Request.reference == reference)).one()
        return list(
            session.exec(select(Letter).where(Letter.request_id == request.id).order_by(col(Letter.id)))
        )


def _print_and_post(
    gate: TestClient, run: Run, kind: str, tracking: str | None = None
) -> tuple[Letter, bytes, str]:
    """The help desk's round: the letter is on the letters page (the run waits for it, unless it
    is the registered identity result); printed, then marked sent (the button's form, which
    wakes the run). The letter, its PDF, the page."""
    if tracking is None:
        wait_for(lambda: run.pause_key().startswith("letter-"), what="the run to wait for a letter")
    waiting = [letter for letter in _letters(run.settings, run.reference) if letter.sent_at is None]
    assert [letter.kind for letter in waiting][:1] == [kind]
    letter = waiting[0]
    if tracking is None:
        assert run.pause_key().partition("-again-")[0] == f"letter-{letter.id}"
    page = gate.get("/desk/letters", auth=SATO)
    assert f"/desk/letters/{letter.id}.pdf" in page.text and run.reference in page.text
    pdf = gate.get(f"/desk/letters/{letter.id}.pdf", auth=SATO)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    posted = gate.post(
        f"/desk/letters/{letter.id}/sent",
        auth=SATO,
        data={"csrf_token": csrf_of(page.text), **({"tracking_number": tracking} if tracking else {})},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    return letter, pdf.content, page.text


class PaperRun(Run):
    def __init__(self, settings, reference: str):
        self.settings = settings
        super().__init__(reference)

    def pause_key(self) -> str:
        from uuid import UUID

        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            state = client.read_flow_run(UUID(self.wait_until_paused())).state
        return state.state_details.pause_key


def test_a_postal_request_from_the_desk_to_the_decision_letter_posted(desk, tmp_path):
    settings = desk
    with TestClient(create_gate(NOWHERE, settings=settings)) as gate:
        form = gate.get("/desk/requests/new", auth=SATO)
        entered = gate.post(
            "/desk/requests/new",
            auth=SATO,
            data={
                "request_type": "disclosure",
                "principal_name": PRINCIPAL["name"],
                "principal_email": PRINCIPAL["email"],
                "principal_phone": PRINCIPAL["phone"],
                "principal_company": PRINCIPAL["company"],
                "principal_login_id": PRINCIPAL["login_id"],
                "role": "principal",
                "delivery": "postal",
                "postal_address": ADDRESS,
                "language": "ja",
                "channel": "post",
                "received_on": jst_date(utcnow()).isoformat(),
                "acknowledgement": "letter",
                "csrf_token": csrf_of(form.text),
            },
        )
        assert entered.status_code == 200, entered.text
        reference = re.search(r"R-\d{6}-[A-Z0-9]{6}", entered.text).group(0)
        run = PaperRun(settings, reference)

        acknowledgement, pdf, _ = _print_and_post(gate, run, "acknowledgement")
        assert f"ご請求を受け付けました（受付番号{reference}）" in _text(pdf)
        wait_for(lambda: run.pause_key().startswith("identity-document-"), what="the copy's wait")
        scan = tmp_path / "scan.png"  # the copy of an identity document that came with the letter
        scan.write_bytes(PNG)
        assert madoguchi("operator", "attach", reference, str(scan), user="sato").exit_code == 0
        wait_for(lambda: run.pause_key().startswith("operator-identity-postal-"), what="the check")
        operator("postal", reference)  # the copy matches: verified, answered by registered mail
        wait_for(lambda: run.pause_key().startswith("operator-review"), what="the review")
        _, confirmed, _ = _print_and_post(gate, run, "identity_confirmed", tracking="123456789012")
        assert "ご本人確認完了のお知らせ" in _text(confirmed)  # the run did not wait for it
        operator("review", reference)  # the operator keeps the pre-screen's proposal
        run.wait_until_paused()  # the fee letter, with the postage, before the payment's form
        with unit_of_work(settings) as session:
            request = session.exec(select(Request).where(Request.reference == reference)).one()
            fee = session.exec(select(Fee).where(Fee.request_id == request.id)).one()
            systems = {
                i.system_key
                for i in session.exec(select(DecisionItem).where(DecisionItem.request_id == request.id))
                if i.final_action == "grant" and i.system_key
            }
        assert systems and (fee.amount_yen, fee.postage_yen) == (
            1000,
            postage_for(sheets_posted(len(systems))),
        )
        _, fee_pdf, _ = _print_and_post(gate, run, "fee_request")
        assert f"手数料:{1000 + fee.postage_yen:,}円" in _text(fee_pdf)
        assert f"書面の郵送料（簡易書留）{fee.postage_yen:,}円" in _text(fee_pdf)
        assert run.pause_key() == "operator-payment"
        operator("payment", reference)

        decision, decision_pdf, page = _print_and_post(gate, run, "decision")
        assert "開示するデータは、印刷してこの書面に同封しました。" in _text(decision_pdf)
        assert "株式会社ビズらく" in _text(decision_pdf) and "〒150-0001" in _text(decision_pdf)
        assert f"/desk/letters/{decision.id}/package.pdf" in page  # printed to go with it
        package = gate.get(f"/desk/letters/{decision.id}/package.pdf", auth=SATO)
        assert package.status_code == 200 and reference in _text(package.content)
        assert run.join() == "completed"

    assert notices_of(settings, reference) == []
    letters = _letters(settings, reference)
    assert [(letter.kind, letter.sent_by) for letter in letters] == [
        ("acknowledgement", "operator:sato"),
        ("identity_confirmed", "operator:sato"),
        ("fee_request", "operator:sato"),
        ("decision", "operator:sato"),
    ]
    assert all("sealed_" not in key for letter in letters for key in letter.context)
    with unit_of_work(settings) as session:
        trail = [
            e.action
            for e in session.exec(
                select(AuditEvent).where(AuditEvent.subject_ref == reference).order_by(col(AuditEvent.seq))
            )
        ]
    assert trail.count("letter.sent") == 4 and "package.printed" in trail
    assert trail.index("letter.sent") < trail.index("request.identity.route_started")
    assert acknowledgement.id < decision.id


def test_an_agent_answered_on_paper_gets_the_documents_asked_for_by_letter_before_the_wait(autopilot):
    """The agent's documents are asked for by letter; the run waits for it to be posted before
    it waits for the uploads, and a wake from an upload meanwhile is not lost: after posting the
    run looks at the request again and finds the documents there."""
    settings = autopilot
    agent = {"role": "appointed_agent", "name": "代理 花子", "email": "agent@example.jp"}
    body = {
        "request_type": "disclosure",
        "principal": PRINCIPAL,
        "requester": agent,
        "details": {"postal_address": ADDRESS},
    }
    with unit_of_work(settings) as session:
        reference = intake.enter(
            session,
            settings,
            RequestCreate.model_validate(body),
            channel=Channel.COUNTER,
            received_on=jst_date(utcnow()),
            acknowledgement=Acknowledgement.LETTER,
            actor="operator:sato",
            now=utcnow(),
        ).reference
    run = PaperRun(settings, reference)
    with TestClient(create_gate(NOWHERE, settings=settings)) as gate:
        _print_and_post(gate, run, "acknowledgement")
        wait_for(lambda: run.pause_key().startswith("letter-"), what="the documents' letter")
        assert [letter.kind for letter in _letters(settings, reference)][-1] == "documents_needed"
        for kind in ("agent_identity_document", "power_of_attorney"):  # uploaded before it is posted
            upload(settings, reference, kind)
        wake_run(settings, reference)  # as the API does: the run still waits for the letter
        wait_for(lambda: run.pause_key().endswith("-again-1"), what="the letter waited for again")
        _, pdf, _ = _print_and_post(gate, run, "documents_needed")
        assert "代理花子様" in _text(pdf)
        _print_and_post(gate, run, "fee_request")  # autopilot paid it: the run ends with the letters
        _print_and_post(gate, run, "decision")
        assert run.join() == "completed"
    assert notices_of(settings, reference) == []
    assert [letter.kind for letter in _letters(settings, reference)] == [
        "acknowledgement",
        "documents_needed",
        "fee_request",
        "decision",
    ]
