"""The decisions of a request's lifecycle (docs/product.md §1), each telling its caller what
comes next: the flow (flows/lifecycle.py) keeps the waits, the tasks and the branching, and
the benchmark's direct path (bench/_drive.py) calls the same functions without Prefect.

Unlike the other services, each function here is a whole transaction (its own unit of work,
the time read at the moment): a flow holds no session across its waits. What goes in and out
is references, keys, codes and counts, never personal data."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from models.db import row_id, unit_of_work, utcnow
from models.rules.identity import Route
from models.rules.states import FeeState, IdentityState
from models.rules.vocabulary import Outcome, ReasonCode, Status, WaitingFor
from models.settings import Settings
from services import clarification, closing, common, documents, fees, fulfilment, identity, review
from services.clock import open_pause
from services.common import load_request, move
from services.deadlines import CLOSURE
from services.requester_waits import clarification_key, identity_key
from systems.registry import Registry


def _seconds_left(deadline: datetime | None) -> int:
    """Until a requester's deadline, at least one: a wait of no time would not wait at all."""
    return max(int((deadline - utcnow()).total_seconds()), 1) if deadline else 1


def remember_run(settings: Settings, reference: str, flow_run_id: str) -> Status:
    """Note the run that carries the request (wakes and recovery find it); where it stands."""
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        common.remember_run(session, request, flow_run_id)
        return request.status


def status(settings: Settings, reference: str) -> Status:
    with unit_of_work(settings) as session:
        return load_request(session, reference).status


def lapse(settings: Settings, reference: str, waiting_for: WaitingFor) -> None:
    """The requester did not act in time (or the fee went unpaid): the end the contract names
    for that wait, as the deadline monitor writes it."""
    status_, outcome, reason = CLOSURE[waiting_for]
    with unit_of_work(settings) as session:
        closing.close(
            session, settings, reference, status=status_, outcome=outcome, reasons=[reason], now=utcnow()
        )


# --- identity ------------------------------------------------------------------------------


class IdentityNext(StrEnum):
    VERIFIED = "verified"  # on to the review
    REQUESTER = "requester"  # wait for the code, or for the agent's documents
    OPERATOR = "operator"  # an operator checks the documents, the copy by post, or calls back
    SIGN_OFF = "sign_off"  # failed: the privacy officer signs the refusal off or sends it back


@dataclass(frozen=True)
class IdentityStep:
    next: IdentityNext
    check_id: int | None = None  # numbers the operator's and the officer's waits
    key: str = ""  # the requester's wait
    waiting_for: WaitingFor | None = None
    seconds_left: int = 1  # to the requester's deadline, or to the call back's
    route: str = ""  # the operator's check: documents, post or phone (models/rules/identity.Route)
    attempts: int = 0  # calls back not answered
    deadline_at: datetime | None = None  # the call back's

    @property
    def requester_waits_for(self) -> WaitingFor:
        """What a ``REQUESTER`` step waits for; the other steps wait for no requester."""
        if self.waiting_for is None:
            raise ValueError(f"a {self.next} step waits for no requester")
        return self.waiting_for


OPERATOR_ROUTES: frozenset[str] = frozenset({Route.DOCUMENTS, Route.POST, Route.PHONE})  # an operator judges
REQUESTER_WAITS = {Route.DOCUMENTS: WaitingFor.DOCUMENTS, Route.POST: WaitingFor.IDENTITY_DOCUMENT}


def identity_started(settings: Settings, reference: str) -> bool:
    """Whether the identity check exists: a resumed or re-run flow has nothing to start."""
    with unit_of_work(settings) as session:
        return identity.current_check(session, load_request(session, reference)) is not None


def identity_step(settings: Settings, reference: str) -> IdentityStep:
    """What identity verification waits for now; the latest check decides."""
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        check = identity.current_check(session, request)
        if check is None:
            raise LookupError(f"{reference}: identity check not started")
        state = identity.state_of(session, request)
        if state is IdentityState.VERIFIED:
            return IdentityStep(IdentityNext.VERIFIED, check.id)
        if state is IdentityState.FAILED:
            return IdentityStep(IdentityNext.SIGN_OFF, check.id)
        if check.method in OPERATOR_ROUTES and request.waiting_for not in REQUESTER_WAITS.values():
            return IdentityStep(  # all there; by phone, a call back to make before its deadline
                IdentityNext.OPERATOR,
                check.id,
                seconds_left=_seconds_left(check.expires_at),
                route=check.method,
                attempts=check.attempts,
                deadline_at=check.expires_at,
            )
        pause = open_pause(session, request)
        return IdentityStep(
            IdentityNext.REQUESTER,
            check.id,
            identity_key(check),
            REQUESTER_WAITS.get(Route(check.method), WaitingFor.ONE_TIME_CODE),
            _seconds_left(pause.deadline_at if pause else None),
        )


def uploaded_documents(settings: Settings, reference: str) -> list:
    """What the operator's identity form lists, each linked to the gate's viewer."""
    with unit_of_work(settings) as session:
        return documents.uploaded(session, row_id(load_request(session, reference)))


def identity_decided(settings: Settings, reference: str, outcome: str, *, actor: str) -> None:
    """The operator's answer on the identity form: ``verified`` or the reason code it fails on."""
    verified = outcome == IdentityState.VERIFIED
    with unit_of_work(settings) as session:
        identity.decide(
            session,
            settings,
            reference,
            verified=verified,
            reason=None if verified else ReasonCode(outcome),
            actor=actor,
            now=utcnow(),
        )


def route_decided(settings: Settings, reference: str, outcome: str | None, *, actor: str) -> None:
    """The operator's answer on the postal or call-back form (its code), or None: the call
    back's deadline passed unanswered."""
    with unit_of_work(settings) as session:
        identity.decide_route(session, settings, reference, outcome, actor=actor, now=utcnow())


def identity_by_autopilot(settings: Settings, reference: str) -> None:
    with unit_of_work(settings) as session:
        identity.decide_by_autopilot(session, settings, reference, now=utcnow())


def identity_signed_off(settings: Settings, reference: str, *, approved: bool, actor: str) -> None:
    """The officer's word on an identity refusal: refused with its reason, or checked again by
    an operator (docs/rules.md §4)."""
    now = utcnow()
    with unit_of_work(settings) as session:
        if approved:
            reason = identity.refusal_reason(session, load_request(session, reference))
            closing.close(
                session,
                settings,
                reference,
                status=Status.REFUSED,
                outcome=Outcome.REFUSED,
                reasons=[reason],
                now=now,
                actor=actor,
            )
        else:
            identity.reopen(session, settings, reference, actor=actor, now=now)


# --- review and approval -------------------------------------------------------------------


class ReviewNext(StrEnum):
    REQUESTER = "requester"  # wait for the answer to a clarification question
    OPERATOR = "operator"  # items wait for an operator's decision
    SIGN_OFF = "sign_off"  # a (partial) refusal waits for the privacy officer
    DECIDED = "decided"


@dataclass(frozen=True)
class ReviewStep:
    next: ReviewNext
    key: str = ""  # the wait's key: each round, question and sign-off gets its own
    pending: list[dict] = field(default_factory=list)  # the operator's items (codes only)
    seconds_left: int = 1


def review_step(settings: Settings, reference: str) -> ReviewStep:
    """Where the review stands, with the request moved to the status that says so."""
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        asked = clarification.asked(request)
        if request.waiting_for == WaitingFor.CLARIFICATION:
            pause = open_pause(session, request)
            return ReviewStep(
                ReviewNext.REQUESTER,
                clarification_key(asked),
                seconds_left=_seconds_left(pause.deadline_at if pause else None),
            )
        round_ = review.times_sent_back(session, reference)
        if pending := review.undecided(session, reference):
            move(session, settings, request, Status.REVIEW, now=utcnow())
            return ReviewStep(ReviewNext.OPERATOR, f"review-{round_}-{asked}", pending)
        if review.awaiting_sign_off(session, reference):
            move(session, settings, request, Status.AWAITING_APPROVAL, now=utcnow())
            return ReviewStep(ReviewNext.SIGN_OFF, f"approval-{round_}")
        return ReviewStep(ReviewNext.DECIDED)


def ask_clarification(settings: Settings, reference: str, question: str, *, actor: str) -> None:
    with unit_of_work(settings) as session:
        clarification.ask(session, settings, reference, question, actor=actor, now=utcnow())


def decide_review(
    settings: Settings,
    reference: str,
    decisions: Mapping[str, tuple[str, Sequence[str]]] | None,
    *,
    registry: Registry,
    actor: str,
) -> None:
    """The operator's decisions (None: keep the proposal); ``review.DecisionInvalid`` when they
    cannot stand, also when a system of ``registry`` cannot do what they ask."""
    supported = {info.key: info.actions for info in registry}
    with unit_of_work(settings) as session:
        review.decide(session, settings, reference, decisions, actor=actor, now=utcnow(), supported=supported)


def review_signed_off(settings: Settings, reference: str, *, approved: bool, actor: str) -> None:
    with unit_of_work(settings) as session:
        review.approve(session, settings, reference, approved=approved, actor=actor, now=utcnow())


def review_outcome(settings: Settings, reference: str) -> tuple[Outcome, list[ReasonCode]]:
    with unit_of_work(settings) as session:
        return review.outcome(session, reference)


# --- fee -----------------------------------------------------------------------------------


def fee_due(settings: Settings, reference: str, outcome: Outcome) -> int | None:
    """Ask for the fee when one is owed: the seconds left to pay it; None when nothing is owed
    or it is paid."""
    with unit_of_work(settings) as session:
        fee = fees.request_fee(session, settings, reference, outcome=outcome, now=utcnow())
        return None if fee is None or fee.state == FeeState.PAID else _seconds_left(fee.due_at)


def confirm_payment(settings: Settings, reference: str, *, actor: str, method: str) -> None:
    with unit_of_work(settings) as session:
        fees.confirm_payment(session, settings, reference, actor=actor, method=method, now=utcnow())


# --- fulfilment ----------------------------------------------------------------------------


def start_fulfilment(settings: Settings, reference: str) -> None:
    """At fulfilment (already there once the fee is paid)."""
    with unit_of_work(settings) as session:
        move(session, settings, load_request(session, reference), Status.FULFILMENT, now=utcnow())


def failures(settings: Settings, reference: str) -> list[fulfilment.PlannedAction]:
    """The systems still failing after their retries: each waits for an operator."""
    with unit_of_work(settings) as session:
        return fulfilment.pending_failures(session, reference)


def resolve_failure(
    settings: Settings,
    reference: str,
    planned: fulfilment.PlannedAction,
    *,
    decision: fulfilment.Decision,
    reason: str | None,
    actor: str,
) -> None:
    with unit_of_work(settings) as session:
        fulfilment.resolve(
            session,
            settings,
            reference,
            planned.system_key,
            planned.action,
            decision=decision,
            reason=reason,
            actor=actor,
            now=utcnow(),
        )
