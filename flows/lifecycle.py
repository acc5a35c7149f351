"""The lifecycle of one personal-information request (docs/product.md §1):
intake → identity → review → approval → fee → fulfilment → package → notice → close.

Every stage's outcome is in the app database, so the flow is re-entrant: run again after a
crash, a resume or by hand, it skips what is done and goes on where the request stands.
Parameters and results are request references only; personal data never reaches Prefect."""

from collections import Counter

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact
from prefect.runtime import flow_run

from flows import inputs
from flows.forms import wait_text, words
from flows.waits import ask, one_client, wait_for_requester
from models.db import unit_of_work, utcnow
from models.rules.deadlines import JST
from models.rules.vocabulary import Outcome, ReasonCode, Status, WaitingFor
from models.settings import get_settings
from services import clarification, closing, documents, fees, identity
from services.clock import open_pause
from services.common import load_request, move
from services.fulfilment import registry_for
from services.requester_waits import again, clarification_key, identity_key
from tasks.fulfilment import fulfil
from tasks.request import complete_request, propose_review, send_notices, start_identity

FINAL = {Status.COMPLETED, Status.REFUSED, Status.WITHDRAWN, Status.CLOSED}


class RequestEnded(Exception):
    """The request ended while the flow waited (withdrawn, closed by a monitor)."""


@flow(name="request-lifecycle", flow_run_name="{reference}", log_prints=False)
@one_client
async def lifecycle(reference: str) -> str:  # async: see flows/waits.py
    _remember_run(reference)
    if _status(reference) not in FINAL:
        try:
            await _run_stages(reference)
        except RequestEnded:
            pass
    send_notices()
    return str(_status(reference))


def _still_open(reference: str) -> None:
    """Checked after every wait: a request withdrawn meanwhile stops here."""
    if _status(reference) in FINAL:
        raise RequestEnded(reference)


async def _run_stages(reference: str) -> None:
    if not await verify_identity(reference):
        return
    outcome, reasons = await review(reference)
    if not await collect_fee(reference, outcome):
        return
    if outcome != Outcome.REFUSED:
        await fulfil_across_systems(reference)
    complete_request(reference, str(outcome), [str(r) for r in reasons])


# --- identity ------------------------------------------------------------------------------

async def verify_identity(reference: str) -> bool:
    """True once verified; False when the request was closed or refused on identity. A
    refusal waits for the privacy officer, who may send it back for an operator's check."""
    state = identity.IdentityState(start_identity(reference))
    waits = Counter()  # keys waited on in this run: a wake with nothing changed waits anew
    send_notices()
    settings = get_settings()
    while True:
        while state is identity.IdentityState.PENDING:
            with unit_of_work(settings) as session:
                request = load_request(session, reference)
                check = identity.current_check(session, request)
                pause = open_pause(session, request)
                key = identity_key(check)
                answered = identity.state_of(session, request) is not identity.IdentityState.PENDING
                by_operator = check.method == "documents" and request.waiting_for != WaitingFor.DOCUMENTS
                seconds_left = int((pause.deadline_at - utcnow()).total_seconds()) if pause else 0
            if answered:  # the requester was quicker than this run: no wait
                pass
            elif by_operator:  # an agent's documents are all there (or a principal by post or phone)
                await _identity_by_operator(reference, settings, check.id)
            elif not await wait_for_requester(key=again(key, waits), timeout_seconds=max(seconds_left, 1)):
                _close(reference, Status.REFUSED, Outcome.REFUSED, [ReasonCode.IDENTITY_NOT_VERIFIED])
                return False
            _still_open(reference)
            with unit_of_work(settings) as session:
                state = identity.state_of(session, load_request(session, reference))
        if state is identity.IdentityState.VERIFIED:
            return True
        with unit_of_work(settings) as session:
            request = load_request(session, reference)
            reason = identity.refusal_reason(session, request)
            check_id = identity.current_check(session, request).id
        approved, officer = await _officer_approves(reference, settings, key=f"identity-approval-{check_id}",
                                                    what=wait_text("identity_refusal"))
        if approved:
            _close(reference, Status.REFUSED, Outcome.REFUSED, [reason], actor=officer)
            return False
        with unit_of_work(settings) as session:
            identity.reopen(session, settings, reference, actor=officer, now=utcnow())
        state = identity.IdentityState.PENDING


async def _identity_by_operator(reference: str, settings, check_id: int) -> None:
    if settings.autopilot:
        with unit_of_work(settings) as session:
            identity.decide_by_autopilot(session, settings, reference, now=utcnow())
        return
    with unit_of_work(settings) as session:  # listed above the form, each linked to the gate's viewer
        uploaded = documents.uploaded(session, load_request(session, reference).id)
    answer = await ask(inputs.IdentityReview, who="operator", key=f"identity-review-{check_id}",
                       description=wait_text("identity_review", reference=reference, documents=uploaded,
                                             kinds=words()["document_kinds"], jst=JST))
    verified = answer.outcome.code == "verified"
    with unit_of_work(settings) as session:
        identity.decide(session, settings, reference, verified=verified,
                        reason=None if verified else ReasonCode(answer.outcome.code),
                        actor=f"operator:{answer.actor}", now=utcnow())


# --- review and approval -------------------------------------------------------------------

async def review(reference: str) -> tuple[Outcome, list[ReasonCode]]:
    """The pre-screen proposes, an operator decides, the privacy officer signs off refusals."""
    from services import review as service

    settings = get_settings()
    summary = service.ProposalSummary.model_validate(propose_review(reference))
    markdown = service.summary_markdown(summary)
    await acreate_markdown_artifact(key=f"review-{reference.lower()}", markdown=markdown,
                                    description=f"{reference}: 事前審査の結果")
    invalid = 0  # answers refused as invalid in this round; replays repeat them identically
    refused_answer = None  # why the last answer was refused, shown above the form asked again
    waits = Counter()  # keys waited on in this run: a wake with nothing changed waits anew
    supported = {info.key: info.actions for info in registry_for(settings)}
    while True:
        _still_open(reference)
        with unit_of_work(settings) as session:
            request = load_request(session, reference)
            asked, waiting = clarification.asked(request), request.waiting_for == WaitingFor.CLARIFICATION
            pause = open_pause(session, request)
            pending = service.undecided(session, reference)
            sign_off = not pending and service.awaiting_sign_off(session, reference)
            round_ = service.times_sent_back(session, reference)
        if waiting:
            seconds_left = int((pause.deadline_at - utcnow()).total_seconds())
            send_notices()
            if not await wait_for_requester(key=again(clarification_key(asked), waits),
                                            timeout_seconds=max(seconds_left, 1)):
                _close(reference, Status.CLOSED, None, [ReasonCode.CLARIFICATION_NOT_RECEIVED])
                raise RequestEnded(reference)
            continue
        if pending:
            with unit_of_work(settings) as session:
                move(session, settings, load_request(session, reference), Status.REVIEW, now=utcnow())
        if sign_off:
            await _sign_off(reference, settings, round_)
            continue
        if not pending:
            break
        if settings.autopilot:
            decisions, actor = None, "autopilot"
        else:
            answer = await ask(inputs.review_form(pending), who="operator", key=f"review-{round_}-{asked}-{invalid}",
                               description=inputs.review_markdown(summary, refused_answer))
            decisions, actor = inputs.decisions_from(answer, pending), f"operator:{answer.actor}"
            if answer.clarification.strip():
                with unit_of_work(settings) as session:
                    clarification.ask(session, settings, reference, answer.clarification.strip(),
                                      actor=actor, now=utcnow())
                continue
        try:
            with unit_of_work(settings) as session:
                service.decide(session, settings, reference, decisions, actor=actor, now=utcnow(),
                               supported=supported)
        except service.DecisionInvalid as exc:
            invalid += 1
            refused_answer = exc.problems
    with unit_of_work(settings) as session:
        return service.outcome(session, reference)


async def _sign_off(reference: str, settings, round_: int) -> None:
    from services import review as service

    with unit_of_work(settings) as session:
        move(session, settings, load_request(session, reference), Status.AWAITING_APPROVAL, now=utcnow())
    approve, actor = await _officer_approves(reference, settings, key=f"approval-{round_}",
                                             what=wait_text("review_refusal"))
    with unit_of_work(settings) as session:
        service.approve(session, settings, reference, approved=approve, actor=actor, now=utcnow())


async def _officer_approves(reference: str, settings, *, key: str, what: str) -> tuple[bool, str]:
    """The privacy officer's word on a refusal, and who gave it (autopilot: yes)."""
    if settings.autopilot:
        return True, "autopilot"
    answer = await ask(inputs.Approval, who="officer", key=key,
                       description=wait_text("approval", reference=reference, what=what))
    return answer.approve.code == "approve", f"officer:{answer.actor}"


# --- fee -----------------------------------------------------------------------------------

async def collect_fee(reference: str, outcome: Outcome) -> bool:
    """True when nothing is owed or it was paid; False when the request closed unpaid."""
    settings = get_settings()
    with unit_of_work(settings) as session:
        fee = fees.request_fee(session, settings, reference, outcome=outcome, now=utcnow())
        if fee is None or fee.state == "paid":
            return True
        seconds_left = int((fee.due_at - utcnow()).total_seconds())
    if settings.autopilot:
        paid, method, actor = True, "autopilot", "autopilot"
    else:
        send_notices()  # the fee request reaches the requester before the wait
        answer = await ask(inputs.Payment, who="operator", key="payment", timeout_seconds=max(seconds_left, 1),
                           description=wait_text("payment", reference=reference))
        _still_open(reference)
        paid = answer is not None and answer.paid.code == "paid"
        method, actor = (answer.method, f"operator:{answer.actor}") if answer else ("", "system")
    if not paid:
        _close(reference, Status.CLOSED, None, [ReasonCode.UNPAID_FEE])
        return False
    with unit_of_work(settings) as session:
        fees.confirm_payment(session, settings, reference, actor=actor, method=method, now=utcnow())
    return True


# --- fulfilment ----------------------------------------------------------------------------

async def fulfil_across_systems(reference: str) -> None:
    """Every system at once; a system still failing after its retries waits for an operator."""
    from services import fulfilment as service

    settings = get_settings()
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        if request.status != Status.FULFILMENT:
            move(session, settings, request, Status.FULFILMENT, now=utcnow())
    while True:
        fulfil(reference)
        with unit_of_work(settings) as session:
            failing = service.pending_failures(session, reference)
        if not failing:
            return
        for planned in failing:
            answer = await ask(inputs.SystemFailure, who="operator",
                               key=f"failure-{planned.system_key}-{planned.attempts}",
                               description=wait_text("failure", reference=reference, system=planned.system_key,
                                                     action=planned.action))
            _still_open(reference)
            with unit_of_work(settings) as session:
                service.resolve(session, settings, reference, planned.system_key, planned.action,
                                decision=answer.decision.code, reason=answer.reason or None,
                                actor=f"operator:{answer.actor}", now=utcnow())


# --- bookkeeping ---------------------------------------------------------------------------

def _remember_run(reference: str) -> None:
    settings = get_settings()
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        if request.flow_run_id != flow_run.id:
            request.flow_run_id = flow_run.id
            session.add(request)


def _status(reference: str) -> Status:
    with unit_of_work(get_settings()) as session:
        return load_request(session, reference).status


def _close(reference: str, status: Status, outcome: Outcome | None, reasons: list[ReasonCode],
           actor: str = "system") -> None:
    settings = get_settings()
    with unit_of_work(settings) as session:
        closing.close(session, settings, reference, status=status, outcome=outcome, reasons=reasons,
                      now=utcnow(), actor=actor)
