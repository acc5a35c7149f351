"""The request's state machine, as data: which (status, waiting for) may follow which.

The statuses and what a request waits for are docs/contract.md's; the order is the lifecycle
of docs/product.md §1 (intake → identity → review → approval → fee → fulfilment → close).
``services.common.move`` refuses any move not listed here, so a bug cannot, say, take a closed
request back to fulfilment. Also the states of a request's parts, stored as these strings."""

from enum import StrEnum

from models.rules.vocabulary import FINAL_STATUSES, Status, WaitingFor

State = tuple[Status, WaitingFor | None]


def _at(status: Status) -> State:
    return status, None


def _awaiting(waiting_for: WaitingFor) -> State:
    return Status.AWAITING_REQUESTER, waiting_for


RECEIVED, IDENTITY, REVIEW = _at(Status.RECEIVED), _at(Status.IDENTITY_VERIFICATION), _at(Status.REVIEW)
APPROVAL, FULFILMENT = _at(Status.AWAITING_APPROVAL), _at(Status.FULFILMENT)
CODE, DOCUMENTS = _awaiting(WaitingFor.ONE_TIME_CODE), _awaiting(WaitingFor.DOCUMENTS)
POSTED_DOCUMENT = _awaiting(WaitingFor.IDENTITY_DOCUMENT)
CLARIFICATION, PAYMENT = _awaiting(WaitingFor.CLARIFICATION), _awaiting(WaitingFor.PAYMENT)
COMPLETED, REFUSED, CLOSED = _at(Status.COMPLETED), _at(Status.REFUSED), _at(Status.CLOSED)
WITHDRAWN = _at(Status.WITHDRAWN)

# Where each open state may go next, besides withdrawal (the requester may withdraw any open
# request). A refusal on identity or on review, and a closure for a requester's silence, are
# the only early ends; a final state goes nowhere.
_NEXT: dict[State, frozenset[State]] = {
    RECEIVED: frozenset({IDENTITY}),
    IDENTITY: frozenset({CODE, DOCUMENTS, POSTED_DOCUMENT, REVIEW, REFUSED}),
    CODE: frozenset({IDENTITY, REFUSED}),  # a code verified, or too many wrong ones
    DOCUMENTS: frozenset({IDENTITY, REFUSED}),  # all uploaded, or the deadline passed
    POSTED_DOCUMENT: frozenset({IDENTITY, REFUSED}),  # the copy attached, or the deadline passed
    REVIEW: frozenset({CLARIFICATION, APPROVAL, PAYMENT, FULFILMENT, REFUSED}),
    CLARIFICATION: frozenset({REVIEW, CLOSED}),
    APPROVAL: frozenset({REVIEW, PAYMENT, FULFILMENT, REFUSED}),  # sent back, or signed off
    PAYMENT: frozenset({FULFILMENT, CLOSED}),
    FULFILMENT: frozenset({COMPLETED}),
}

TRANSITIONS: dict[State, frozenset[State]] = {
    **{state: after | {WITHDRAWN} for state, after in _NEXT.items()},
    **{_at(status): frozenset() for status in FINAL_STATUSES},
}


def allowed(before: State, after: State) -> bool:
    """True when a request at ``before`` may move to ``after`` (staying put is no move)."""
    return before == after or after in TRANSITIONS.get(before, frozenset())


class IdentityState(StrEnum):
    """An identity check (``identity_check.state``); the latest check of a request decides."""

    PENDING = "pending"  # waiting for a code or an operator
    VERIFIED = "verified"
    FAILED = "failed"


class FeeState(StrEnum):
    """A fee (``fee.state``): asked for, then paid; unpaid by its deadline, the request closes."""

    REQUESTED = "requested"
    PAID = "paid"


class ActionState(StrEnum):
    """One (system, action) of fulfilment (``fulfilment_action.state``)."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"  # after its retries: waits for an operator
    SKIPPED = "skipped"
    DONE_BY_HAND = "done_by_hand"


class NoticeState(StrEnum):
    """An email in the outbox (``notice.state``; mail/outbox.py moves it)."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by one sender
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # to an address that opted out or bounced
    IN_DOUBT = "in_doubt"  # the provider did not answer: it may have been sent
    UNDELIVERABLE = "undeliverable"
