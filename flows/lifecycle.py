"""The lifecycle of one personal-information request (docs/product.md §1):
intake → identity → review → approval → fee → fulfilment → package → notice → close.

Every stage's outcome is in the app database, so the flow is re-entrant: run again after a
crash, a resume or by hand, it skips what is done and goes on where the request stands. The
decisions are services/lifecycle.py's; the flow waits for people, runs the tasks and
branches, and opens no database session. Parameters and results are request references
only; personal data never reaches Prefect."""

import contextlib
from collections import Counter

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact
from prefect.runtime import flow_run

from deployments.registry import registry_for
from flows import inputs
from flows.forms import wait_text
from flows.waits import OPERATOR_WAIT_SECONDS, ask, one_client, wait_for_requester
from models.rules.identity import Route
from models.rules.vocabulary import Outcome, ReasonCode, WaitingFor
from models.settings import get_settings
from services import lifecycle as stages
from services.lifecycle import IdentityNext, IdentityStep, ReviewNext
from services.notices import letter_to_post
from services.requester_waits import again
from services.review import DecisionInvalid, ProposalSummary, summary_markdown
from tasks.fulfilment import fulfil
from tasks.request import complete_request, propose_review, send_notices, start_identity


class RequestEnded(Exception):
    """The request ended while the flow waited (withdrawn, closed by a monitor)."""


@flow(name="request-lifecycle", flow_run_name="{reference}", log_prints=False)
@one_client
async def lifecycle(reference: str) -> str:  # async: see flows/waits.py
    if not stages.remember_run(get_settings(), reference, flow_run.id).is_final:
        with contextlib.suppress(RequestEnded):
            await _run_stages(reference)
    send_notices()
    await letters_posted(reference)
    return str(stages.status(get_settings(), reference))


def _still_open(reference: str) -> None:
    """Checked after every wait: a request withdrawn meanwhile stops here."""
    if stages.status(get_settings(), reference).is_final:
        raise RequestEnded(reference)


async def _ask(reference: str, form, **wait):
    """A person's answer (``flows.waits.ask``), unless the request ended meanwhile."""
    answer = await ask(form, **wait)
    _still_open(reference)
    return answer


async def _run_stages(reference: str) -> None:
    await letters_posted(reference)  # the acknowledgement reaches the requester before any question
    _still_open(reference)
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
    settings = get_settings()
    if not stages.identity_started(settings, reference):  # a resumed run skips two task runs
        start_identity(reference)
        send_notices()
    waits: Counter[str] = Counter()  # keys waited on in this run: a wake with nothing changed waits anew
    while (step := stages.identity_step(settings, reference)).next is not IdentityNext.VERIFIED:
        if step.next is IdentityNext.SIGN_OFF:
            approved, officer = await _officer_approves(
                reference,
                settings,
                what="identity_refusal",
                key=f"identity-approval-{step.check_id}",
            )
            stages.identity_signed_off(settings, reference, approved=approved, actor=officer)
            if approved:
                return False
            continue
        if step.next is IdentityNext.OPERATOR:
            await _identity_by_operator(reference, settings, step)
        elif not await letters_posted(reference) and not await wait_for_requester(
            key=again(step.key, waits), timeout_seconds=step.seconds_left
        ):  # the requester waited for once the letter asking for documents is posted
            stages.lapse(settings, reference, step.requester_waits_for)
            return False
        _still_open(reference)
    return True


async def _identity_by_operator(reference: str, settings, step: IdentityStep) -> None:
    if settings.autopilot:
        stages.identity_by_autopilot(settings, reference)
        return
    if step.route == Route.PHONE:  # no answer by the deadline: not reached in time
        answer = await _ask(
            reference,
            inputs.Callback,
            who="operator",
            key=f"identity-callback-{step.check_id}-{step.attempts}",
            timeout_seconds=step.seconds_left,
            description=wait_text(
                "callback", reference=reference, deadline=step.deadline_at, attempts=step.attempts
            ),
        )
        code, actor = (answer.outcome.code, f"operator:{answer.actor}") if answer else (None, "system")
        stages.route_decided(settings, reference, code, actor=actor)
        return
    by_post = step.route == Route.POST  # a posted copy's check; else an agent's uploads
    answer = await _ask(
        reference,
        inputs.PostalReview if by_post else inputs.IdentityReview,
        who="operator",
        key=f"identity-{'postal' if by_post else 'review'}-{step.check_id}",
        description=wait_text(
            "postal_review" if by_post else "identity_review",
            reference=reference,
            documents=stages.uploaded_documents(settings, reference),
        ),
    )
    decided = stages.route_decided if by_post else stages.identity_decided
    decided(settings, reference, answer.outcome.code, actor=f"operator:{answer.actor}")


# --- review and approval -------------------------------------------------------------------


async def review(reference: str) -> tuple[Outcome, list[ReasonCode]]:
    """The pre-screen proposes, an operator decides, the privacy officer signs off refusals."""
    settings = get_settings()
    summary = ProposalSummary.model_validate(propose_review(reference))
    await acreate_markdown_artifact(
        key=f"review-{reference.lower()}",
        markdown=summary_markdown(summary),
        description=f"{reference}: 事前審査の結果",
    )
    invalid = 0  # answers refused as invalid in this round; replays repeat them identically
    refused_answer = None  # why the last answer was refused, shown above the form asked again
    waits: Counter[str] = Counter()  # keys waited on in this run: a wake with nothing changed waits anew
    while True:
        _still_open(reference)
        step = stages.review_step(settings, reference)
        if step.next is ReviewNext.DECIDED:
            return stages.review_outcome(settings, reference)
        if step.next is ReviewNext.REQUESTER:
            send_notices()
            if await letters_posted(reference):
                continue  # posted: where the review stands now
            if not await wait_for_requester(key=again(step.key, waits), timeout_seconds=step.seconds_left):
                stages.lapse(settings, reference, WaitingFor.CLARIFICATION)
                raise RequestEnded(reference)
        elif step.next is ReviewNext.SIGN_OFF:
            approved, actor = await _officer_approves(
                reference, settings, key=step.key, what="review_refusal"
            )
            stages.review_signed_off(settings, reference, approved=approved, actor=actor)
        elif settings.autopilot:
            stages.decide_review(
                settings, reference, None, registry=registry_for(settings), actor="autopilot"
            )
        else:
            answer = await _ask(
                reference,
                inputs.review_form(step.pending),
                who="operator",
                key=f"{step.key}-{invalid}",
                description=inputs.review_markdown(summary, refused_answer),
            )
            actor = f"operator:{answer.actor}"
            if answer.clarification.strip():
                stages.ask_clarification(settings, reference, answer.clarification.strip(), actor=actor)
                continue
            try:
                stages.decide_review(
                    settings,
                    reference,
                    inputs.decisions_from(answer, step.pending),
                    registry=registry_for(settings),
                    actor=actor,
                )
            except DecisionInvalid as exc:
                invalid += 1
                refused_answer = exc.problems


async def _officer_approves(reference: str, settings, *, key: str, what: str) -> tuple[bool, str]:
    """The privacy officer's word on a refusal (``what``: its [waits] text), and who gave it
    (autopilot: yes)."""
    if settings.autopilot:
        return True, "autopilot"
    answer = await _ask(
        reference,
        inputs.Approval,
        who="officer",
        key=key,
        description=wait_text("approval", reference=reference, what=what),
    )
    return answer.approve.code == "approve", f"officer:{answer.actor}"


# --- fee -----------------------------------------------------------------------------------


async def collect_fee(reference: str, outcome: Outcome) -> bool:
    """True when nothing is owed or it was paid; False when the request closed unpaid."""
    settings = get_settings()
    seconds_left = stages.fee_due(settings, reference, outcome)
    if seconds_left is None:
        return True
    if settings.autopilot:
        paid, method, actor = True, "autopilot", "autopilot"
    else:
        send_notices()  # the fee request reaches the requester before the wait
        await letters_posted(reference)
        _still_open(reference)
        answer = await _ask(
            reference,
            inputs.Payment,
            who="operator",
            key="payment",
            timeout_seconds=seconds_left,
            description=wait_text("payment", reference=reference),
        )
        paid = answer is not None and answer.paid.code == "paid"
        method, actor = (answer.method, f"operator:{answer.actor}") if answer else ("", "system")
    if not paid:
        stages.lapse(settings, reference, WaitingFor.PAYMENT)
        return False
    stages.confirm_payment(settings, reference, actor=actor, method=method)
    return True


# --- fulfilment ----------------------------------------------------------------------------


async def fulfil_across_systems(reference: str) -> None:
    """Every system at once; a system still failing after its retries waits for an operator."""
    settings = get_settings()
    stages.start_fulfilment(settings, reference)
    while True:
        fulfil(reference)
        failing = stages.failures(settings, reference)
        if not failing:
            return
        for planned in failing:
            answer = await _ask(
                reference,
                inputs.FailedAction,
                who="operator",
                key=f"failure-{planned.system_key}-{planned.attempts}",
                description=wait_text(
                    "failure", reference=reference, system=planned.system_key, action=planned.action
                ),
            )
            stages.resolve_failure(
                settings,
                reference,
                planned,
                decision=answer.decision.code,
                reason=answer.reason or None,
                actor=f"operator:{answer.actor}",
            )


# --- letters -------------------------------------------------------------------------------


async def letters_posted(reference: str) -> bool:
    """Wait while a letter of the request is not posted yet: the acknowledgement before the
    process asks the requester anything, a question, the documents asked for or the fee before
    the run waits for the answer, the decision before the run ends. The help desk marks it sent
    on the gate, which wakes the run; meanwhile it is on the work queue as 印刷待ちの書面. True
    when it waited."""
    waits: Counter[str] = Counter()
    while (letter_id := letter_to_post(get_settings(), reference)) is not None:
        await wait_for_requester(
            key=again(f"letter-{letter_id}", waits), timeout_seconds=OPERATOR_WAIT_SECONDS
        )
    return bool(waits)
