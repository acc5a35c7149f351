"""Drive requests for the lifecycle benchmark: demo subjects, intake, the simulated requester
(enters the one-time code ``READING_SECONDS`` after its email is sent, in both modes), the flow
run under Prefect, and the same steps made directly without Prefect ("direct")."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlmodel import select

from demo.inbox import code_in
from deployments.registry import registry_for
from mail.file_adapter import FileOutbox
from mail.outbox import REMOVED
from models.db import unit_of_work, utcnow
from models.fulfilment import Notice
from models.requests import RequestCreate
from models.rules.states import ActionState, NoticeState
from models.rules.vocabulary import Outcome
from services import identity, intake
from services.common import load_request

READING_SECONDS = 0.5  # the code's email sent → the code entered; the same in both modes

RECORDS = {
    "orders": 2,
    "billing": 1,
    "points": 1,
    "support": 1,
    "analytics": 3,
    "delivery_contractor": 1,
    "marketing": 1,
}


def fixture_subject(i: int, *, mailed_after_opt_out: bool) -> dict:
    """A demo subject with records in all eight systems; with advertising mail after an
    opt-out on record (a ground for erasing the marketing list: Art. 35(5))."""
    return {
        "login_id": f"B{i:07d}",
        "company": "株式会社ベンチ",
        "name": f"試験 {i}号",
        "email": f"bench{i}@example.co.jp",
        "phone": f"03-{5000 + i // 10000:04d}-{i % 10000:04d}",
        "billing_address": "東京都千代田区丸の内1-1-1",
        "records": dict(RECORDS),
        "marketing": {
            "consented": True,
            "opted_out": mailed_after_opt_out,
            "mailed_after_opt_out": mailed_after_opt_out,
        },
    }


def principal(subject: dict) -> dict:
    return {k: subject[k] for k in ("name", "email", "phone", "company", "login_id")}


def submit(settings, request_type: str, who: dict, details: dict | None = None) -> str:
    body = {"request_type": request_type, "principal": who, "details": details or {}}
    with unit_of_work(settings) as session:
        return intake.submit(session, settings, RequestCreate.model_validate(body), now=utcnow()).reference


def enter_code(settings, reference: str) -> bool:
    """The requester types the newest code of this request; False while there is none."""
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        notice = session.exec(
            select(Notice)
            .where(Notice.request_id == request.id, Notice.kind == "one_time_code")
            .order_by(Notice.id.desc())
        ).first()
        if notice is None:
            return False
        code = notice.context["code"]
        if code == REMOVED:  # sent already: the requester reads it in the mail, as anyone would
            outbox = FileOutbox(settings.mail_outbox_dir or settings.data_dir / "outbox", "bench")
            code = code_in(outbox.text_of(notice.idempotency_key) or "")
        identity.submit_code(session, settings, reference, code, now=utcnow())
        return True


# --- under Prefect -------------------------------------------------------------------------


class FlowRequest:
    """One lifecycle flow run in a thread (as a worker runs it in its process), with the
    autopilot requester beside it."""

    def __init__(self, settings, reference: str):
        self.settings, self.reference = settings, reference
        self.result = self.error = self.flow_run_id = None
        self.seconds = self.code_at = self.woken_at = self.returned_at = self.woke = None

    def run(self, timeout: float = 300) -> FlowRequest:
        from flows.lifecycle import lifecycle

        done = threading.Event()

        def target():
            try:
                self.result = asyncio.run(lifecycle(self.reference))
                self.returned_at = datetime.now(UTC)
            except BaseException as exc:  # noqa: BLE001 - reported
                self.error = exc
            finally:
                done.set()

        started = time.perf_counter()
        threading.Thread(target=target, daemon=True).start()
        self._requester(done, started, timeout)
        done.wait(max(1.0, timeout - (time.perf_counter() - started)))
        self.seconds = time.perf_counter() - started
        if not done.is_set():
            self.error = TimeoutError(f"{self.reference}: not finished after {timeout} s")
        with unit_of_work(self.settings) as session:
            self.flow_run_id = load_request(session, self.reference).flow_run_id
        return self

    def _requester(self, done: threading.Event, started: float, timeout: float) -> None:
        """As a person would: once the code's email is sent, read it for ``READING_SECONDS``,
        enter the code and wake the run as the intake API does (``web.actions.wake_run``).
        Nothing here polls Prefect; the app database says when the mail went out."""
        from flows.waits import REQUESTER_WAKE_SETTLE_SECONDS, wake

        while not done.is_set() and time.perf_counter() - started < timeout:
            if code_mail_sent(self.settings, self.reference):
                time.sleep(READING_SECONDS)
                self.code_at = time.perf_counter() - started
                assert enter_code(self.settings, self.reference), "no code notice"
                with unit_of_work(self.settings) as session:
                    run_id = load_request(session, self.reference).flow_run_id
                self.woke = wake(run_id, settle_seconds=REQUESTER_WAKE_SETTLE_SECONDS)
                self.woken_at = time.perf_counter() - started
                return
            done.wait(0.05)


def code_mail_sent(settings, reference: str) -> bool:
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        return (
            session.exec(
                select(Notice.id).where(
                    Notice.request_id == request.id,
                    Notice.kind == "one_time_code",
                    Notice.state == NoticeState.SENT,
                )
            ).first()
            is not None
        )


# --- the same steps without Prefect --------------------------------------------------------


def direct(settings, reference: str, *, workers: int = 8) -> str:
    """The lifecycle of an autopilot request without Prefect: the flow's services
    (``services.lifecycle``) and task bodies (``.fn``) in the flow's order, the requester's
    code entered after reading the mail; fulfilment on a thread pool like the task runner."""
    from services import lifecycle as stages
    from services.lifecycle import IdentityNext, ReviewNext
    from services.review import ProposalSummary, summary_markdown
    from tasks.fulfilment import act_on_system
    from tasks.request import complete_request, propose_review, send_notices, start_identity

    start_identity.fn(reference)
    send_notices.fn()
    if stages.identity_step(settings, reference).next is IdentityNext.REQUESTER:
        time.sleep(READING_SECONDS)
        enter_code(settings, reference)
    if stages.identity_step(settings, reference).next is not IdentityNext.VERIFIED:
        return str(stages.status(settings, reference))
    summary_markdown(ProposalSummary.model_validate(propose_review.fn(reference)))
    while (step := stages.review_step(settings, reference)).next is not ReviewNext.DECIDED:
        if step.next is ReviewNext.SIGN_OFF:
            stages.review_signed_off(settings, reference, approved=True, actor="autopilot")
        else:
            stages.decide_review(
                settings, reference, None, registry=registry_for(settings), actor="autopilot"
            )
    outcome, reasons = stages.review_outcome(settings, reference)
    if stages.fee_due(settings, reference, outcome) is not None:
        send_notices.fn()
        stages.confirm_payment(settings, reference, actor="autopilot", method="autopilot")
    if outcome != Outcome.REFUSED:
        stages.start_fulfilment(settings, reference)
        perform_all(settings, reference, concurrent=True, workers=workers, act=act_on_system.fn)
        assert not stages.failures(settings, reference)
    complete_request.fn(reference, str(outcome), [str(r) for r in reasons])
    send_notices.fn()
    return str(stages.status(settings, reference))


def perform_all(settings, reference: str, *, concurrent: bool, workers: int = 8, act=None) -> list[dict]:
    """Plan, then perform every pending action: on a thread pool, or one after another."""
    from services.fulfilment import plan

    with unit_of_work(settings) as session:
        pending = [
            p for p in plan(session, settings, reference, now=utcnow()) if p.state == ActionState.PENDING
        ]
    calls = [(reference, p.system_key, str(p.action)) for p in pending]
    if not concurrent:
        return [act(*c) for c in calls]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda c: act(*c), calls))
