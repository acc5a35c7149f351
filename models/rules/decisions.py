"""Decision items: what is decided for each part of a request, and the overall outcome.

An item is one system for most request types, one field in one system for a correction,
and a system-less item for a purpose notification or the third-party provision records.
The pre-screen proposes items; an operator confirms or changes them, and
``decision_problems`` says whether a final decision is acceptable (Arts. 32–36).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from models.rules.vocabulary import Outcome, SystemAction
from models.rules.vocabulary import ReasonCode as R
from models.rules.vocabulary import RequestType as T

PURPOSES_KEY = "purposes"
THIRD_PARTY_RECORDS_KEY = "third_party_records"


class ItemAction(StrEnum):
    GRANT = "grant"
    # a narrower or different measure with reasons, e.g. restrict instead of erase (Art. 35(2))
    ALTERNATIVE = "alternative"
    REFUSE = "refuse"
    # nothing (or nothing that is retained personal data) is there: answered, not refused
    NOT_HELD = "not_held"


@dataclass(frozen=True)
class Item:
    key: str  # "billing", "customers:phone", "purposes"
    action: ItemAction
    reasons: tuple[R, ...] = ()
    system_key: str | None = None
    system_action: SystemAction | None = None  # what fulfilment asks of the system
    # disclosure only: paper although electronic was asked for (Rules Art. 30 / Art. 33(1) proviso);
    # the notice must say so (Art. 33(3))
    paper_instead: bool = False


def item_key(system_key: str, field: str | None = None) -> str:
    return f"{system_key}:{field}" if field else system_key


# Codes an item may carry, by request type. Identity, fee, clarification and withdrawal codes
# concern the whole request (closure), not an item.
_ITEM_CODES: dict[T, frozenset[R]] = {
    # Art. 32(2)(ii) via Art. 21(4)(i)–(ii)
    T.PURPOSE_NOTIFICATION: frozenset({R.HARM_TO_LIFE_OR_PROPERTY, R.BUSINESS_INTERFERENCE}),
    # Art. 33(2)(i)–(iii), 33(4); the same for Art. 33(5) records (Order Art. 11)
    T.DISCLOSURE: frozenset(
        {R.HARM_TO_LIFE_OR_PROPERTY, R.BUSINESS_INTERFERENCE, R.OTHER_LAW_VIOLATION, R.OTHER_LAW_PROCEDURE}
    ),
    # Art. 34(1)
    T.CORRECTION: frozenset({R.CONTENT_ACCURATE, R.OTHER_LAW_PROCEDURE}),
    # Art. 35(1)–(2), (5)–(6)
    T.SUSPENSION: frozenset({R.NO_STATUTORY_GROUND, R.ALTERNATIVE_MEASURE, R.LEGAL_RETENTION_DUTY}),
    T.ERASURE: frozenset({R.NO_STATUTORY_GROUND, R.ALTERNATIVE_MEASURE, R.LEGAL_RETENTION_DUTY}),
    # Art. 35(3)–(6)
    T.STOP_THIRD_PARTY_PROVISION: frozenset({R.NO_STATUTORY_GROUND, R.ALTERNATIVE_MEASURE}),
}
# Art. 35(2), (4), (6) provisos: only these types know a narrower alternative measure.
_ALTERNATIVE_TYPES = frozenset({T.SUSPENSION, T.ERASURE, T.STOP_THIRD_PARTY_PROVISION})
# Never proposed by the pre-screen: an operator must weigh them (Art. 33(2)(i), (iii), 33(4)).
OPERATOR_ONLY_CODES = frozenset({R.HARM_TO_LIFE_OR_PROPERTY, R.OTHER_LAW_VIOLATION, R.OTHER_LAW_PROCEDURE})


def allowed_item_codes(request_type: T) -> frozenset[R]:
    """Codes that fit an item of this request type (the choices an operator is offered)."""
    return _ITEM_CODES[T(request_type)] | {R.NO_RETAINED_PERSONAL_DATA}


def decision_problems(request_type: T, action: ItemAction, reasons: Sequence[R | str]) -> list[str]:
    """Why an operator's final decision on one item is not acceptable; empty when it is.

    Art. 36 and docs/contract.md: anything but a plain grant carries at least one reason code, and
    the code must be a ground the law gives for this request type."""
    request_type, action = T(request_type), ItemAction(action)
    problems: list[str] = []
    try:
        codes = [R(c) for c in reasons]
    except ValueError as exc:
        return [str(exc)]
    if len(set(codes)) != len(codes):
        problems.append("a reason code is given twice")
    if action is ItemAction.GRANT:
        if codes:
            problems.append("a granted item carries no reason code")
        return problems
    if not codes:
        problems.append(f"'{action}' needs at least one reason code (Art. 36)")
    if action is ItemAction.NOT_HELD and codes != [R.NO_RETAINED_PERSONAL_DATA]:
        problems.append("'not_held' is answered with no_retained_personal_data alone")
    if action is ItemAction.ALTERNATIVE and request_type not in _ALTERNATIVE_TYPES:
        problems.append(f"an alternative measure is not available for {request_type}")
    if action is not ItemAction.NOT_HELD and R.NO_RETAINED_PERSONAL_DATA in codes:
        problems.append("no_retained_personal_data goes with 'not_held'")
    allowed = allowed_item_codes(request_type)
    problems += [f"{c} does not fit a {request_type} request" for c in codes if c not in allowed]
    return problems


def outcome_of(items: Iterable[Item]) -> Outcome:
    """Granted, partially granted or refused, from the items.

    Not-held items are neutral: telling the requester that nothing is held is an answer, not a
    refusal (Art. 33(3) distinguishes the two), and data withheld under Cabinet Order Art. 5
    must look exactly like data that does not exist. So a request where nothing is held at all
    is granted, with ``no_retained_personal_data`` as its reason."""
    actions = [i.action for i in items if i.action is not ItemAction.NOT_HELD]
    if all(a is ItemAction.GRANT for a in actions):
        return Outcome.GRANTED
    if all(a is ItemAction.REFUSE for a in actions):
        return Outcome.REFUSED
    return Outcome.PARTIALLY_GRANTED


def outcome_reasons(items: Iterable[Item]) -> tuple[R, ...]:
    """The request-level reason codes for the notice, in first-seen order: those of withheld or
    narrowed items; ``no_retained_personal_data`` only when nothing at all is held (saying it
    beside other answers would reveal data withheld under Cabinet Order Art. 5)."""
    items = list(items)
    held = [i for i in items if i.action is not ItemAction.NOT_HELD]
    if not held:
        return (R.NO_RETAINED_PERSONAL_DATA,)
    return tuple(dict.fromkeys(c for i in held for c in i.reasons))
