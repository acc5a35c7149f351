"""The automatic pre-screen: a proposed decision per item from what the data can tell
(docs/rules.md §0–§2). An operator confirms or changes every proposal; the grounds that need a
person's judgement (Art. 33(2)(i) harm, (iii) other law, Art. 33(4)) are never proposed here.

Only grounds the requester stated (``ground_codes``) are considered, and a stated ground counts
only where a recorded fact supports it for that system: "escaping billing", "re-joining after
a ban" or "removing credit-screening data" have no such fact and so get ``no_statutory_ground``.
"""

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from models.rules.deadlines import add_years
from models.rules.decisions import (
    PURPOSES_KEY,
    THIRD_PARTY_RECORDS_KEY,
    Item,
    item_key,
    outcome_of,
    outcome_reasons,
)
from models.rules.decisions import (
    ItemAction as A,
)
from models.rules.provision import is_disclosable_record, is_lawful_record
from models.rules.vocabulary import (
    Delivery,
    Origin,
    Outcome,
)
from models.rules.vocabulary import (
    GroundCode as G,
)
from models.rules.vocabulary import (
    ReasonCode as R,
)
from models.rules.vocabulary import (
    RequestType as T,
)
from models.rules.vocabulary import (
    SystemAction as S,
)

# Art. 35(1) and (5): grounds for suspension and erasure; Art. 35(3) and (5): for stopping provision
SUSPENSION_GROUNDS = frozenset(
    {G.UNLAWFUL_USE, G.IMPROPER_ACQUISITION, G.NO_LONGER_NEEDED, G.LEAK_OCCURRED, G.RIGHTS_HARMED}
)
STOP_PROVISION_GROUNDS = frozenset(
    {G.PROVISION_WITHOUT_CONSENT, G.NO_LONGER_NEEDED, G.LEAK_OCCURRED, G.RIGHTS_HARMED}
)


@dataclass(frozen=True)
class Holding:
    """What one registered system holds about the subject."""

    system_key: str
    record_count: int
    origin: Origin = Origin.COLLECTED
    retention_duty: bool = False  # another law requires keeping it (billing: bookkeeping)
    # some purpose of use still needs the data; "no longer needed" must hold for every purpose
    # (``still_needed`` decides it from the account's closing and last activity)
    still_needed: bool = True
    advertising: bool = False  # used to send advertising mail (policy purpose d)
    electronic_copy: bool = True  # the system can produce an electronic copy
    values: Mapping[str, str | None] = field(default_factory=dict)  # correctable fields, as held
    # what the system can do (registry ``SystemInfo.actions``); the pre-screen never proposes
    # an Art. 35 action outside it
    actions: frozenset[S] = frozenset(S)

    @property
    def retained(self) -> bool:
        """Retained personal data (Art. 16(4)): something is there, it is the company's own, and
        its existence may be revealed (Cabinet Order Art. 5: data from an authority's inquiry)."""
        return self.record_count > 0 and Origin(self.origin) is Origin.COLLECTED


@dataclass(frozen=True)
class RecordedFacts:
    """Facts on record that support a requester's ground (docs/rules.md §1)."""

    marketing_after_opt_out: bool = False  # advertising mail sent after an opt-out
    former_contact: bool = False  # no longer the customer's contact, still listed
    leaked_systems: frozenset[str] = frozenset()  # in a reportable leak (Art. 26, 35(5))
    weak_security_systems: frozenset[str] = frozenset()
    unlawful_use_systems: frozenset[str] = frozenset()  # Art. 18/19 breach found
    improper_acquisition_systems: frozenset[str] = frozenset()  # Art. 20 breach found
    # (basis, foreign recipient) of every recorded third-party provision
    provision_bases: tuple[tuple[str | None, bool], ...] = ()


@dataclass(frozen=True)
class Correction:
    field: str
    current: str | None
    requested: str


@dataclass(frozen=True)
class PriorRequest:
    request_type: T
    received_on: date


@dataclass(frozen=True)
class RequestFacts:
    request_type: T
    received_on: date
    holdings: tuple[Holding, ...]
    ground_codes: frozenset[G] = frozenset()
    recorded: RecordedFacts = RecordedFacts()
    corrections: tuple[Correction, ...] = ()
    prior_requests: tuple[PriorRequest, ...] = ()
    include_third_party_records: bool = False
    delivery: Delivery = Delivery.ELECTRONIC


@dataclass(frozen=True)
class PrescreenPolicy:
    """Art. 33(2)(ii) is exceptional: only repeated identical requests that are also complex.
    "Identical" = same type; "repeated" = at least ``repeat_min_prior`` earlier ones within
    ``repeat_window_days``; "complex" = at least ``complex_min_records`` records to compile.

    Art. 35(5) "no longer needed": a closed account's data still serves the purposes of use
    for ``after_care_years`` after the account closed or last had an order or billing
    activity, whichever is later (docs/rules.md §1)."""

    repeat_window_days: int = 90
    repeat_min_prior: int = 2
    complex_min_records: int = 1_000
    after_care_years: int = 1


def still_needed(
    closed_on: date | None,
    last_active_on: date | None,
    today: date,
    policy: PrescreenPolicy = PrescreenPolicy(),
) -> bool:
    """Whether any purpose of use still needs a subject's data (Art. 35(5), docs/rules.md §1):
    while the account is open, yes (the customer may order again); once it is closed, until
    the after-care period from the closing or the last order or billing activity ends."""
    if closed_on is None:
        return True
    last = max(closed_on, last_active_on or closed_on)
    return today < add_years(last, policy.after_care_years)


@dataclass(frozen=True)
class Proposal:
    items: tuple[Item, ...]
    outcome: Outcome
    reasons: tuple[R, ...]


def prescreen(facts: RequestFacts, policy: PrescreenPolicy = PrescreenPolicy()) -> Proposal:
    request_type = T(facts.request_type)
    if request_type is T.PURPOSE_NOTIFICATION:
        items = [_purpose_item(facts)]
    elif request_type is T.DISCLOSURE:
        items = _disclosure_items(facts, policy)
    elif request_type is T.CORRECTION:
        items = _correction_items(facts)
    else:
        items = _art35_items(facts, request_type)
    return Proposal(items=tuple(items), outcome=outcome_of(items), reasons=outcome_reasons(items))


def _not_held(key: str, system_key: str | None = None) -> Item:
    return Item(key, A.NOT_HELD, (R.NO_RETAINED_PERSONAL_DATA,), system_key=system_key)


def _purpose_item(facts: RequestFacts) -> Item:
    """Art. 32(2)(i) would allow refusing since the purposes are published, but the policy
    (§5.1) promises to answer, and the policy wins where it promises more."""
    if any(h.retained for h in facts.holdings):
        return Item(PURPOSES_KEY, A.GRANT)
    return _not_held(PURPOSES_KEY)


def is_business_interference(facts: RequestFacts, policy: PrescreenPolicy) -> bool:
    """Art. 33(2)(ii): volume alone is not enough, nor repetition alone; both are needed."""
    since = facts.received_on - timedelta(days=policy.repeat_window_days)
    repeats = sum(
        1
        for p in facts.prior_requests
        if T(p.request_type) is T(facts.request_type) and since <= p.received_on <= facts.received_on
    )
    records = sum(h.record_count for h in facts.holdings if h.retained)
    return repeats >= policy.repeat_min_prior and records >= policy.complex_min_records


def _disclosure_items(facts: RequestFacts, policy: PrescreenPolicy) -> list[Item]:
    interference = is_business_interference(facts, policy)

    def disclose(key: str, system_key: str | None, electronic_copy: bool = True) -> Item:
        if interference:
            return Item(key, A.REFUSE, (R.BUSINESS_INTERFERENCE,), system_key=system_key)
        paper = Delivery(facts.delivery) is Delivery.ELECTRONIC and not electronic_copy
        return Item(key, A.GRANT, system_key=system_key, system_action=S.EXPORT, paper_instead=paper)

    items = [
        disclose(h.system_key, h.system_key, h.electronic_copy)
        if h.retained
        else _not_held(h.system_key, h.system_key)
        for h in facts.holdings
    ]
    if facts.include_third_party_records:
        # Art. 33(5): only records the law required (Art. 29(1), Art. 28 abroad)
        recorded = [b for b, foreign in facts.recorded.provision_bases if is_disclosable_record(b, foreign)]
        items.append(
            disclose(THIRD_PARTY_RECORDS_KEY, None) if recorded else _not_held(THIRD_PARTY_RECORDS_KEY)
        )
    return items


def _normalised(value: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", value or "").split()).casefold()


def _correction_items(facts: RequestFacts) -> list[Item]:
    """Art. 34: correct what is untrue. The pre-screen refuses with ``content_accurate`` when
    the held value already is the requested one, or the requester's "current" value is not
    what is held (the claim is wrong); the operator still investigates before confirming."""
    items: list[Item] = []
    for c in facts.corrections:
        holders = [h for h in facts.holdings if c.field in h.values]
        if not any(h.retained for h in holders):
            items.append(_not_held(item_key("*", c.field)))
            continue
        for h in holders:
            key = item_key(h.system_key, c.field)
            held = _normalised(h.values[c.field])
            if not h.retained:
                items.append(_not_held(key, h.system_key))
            elif held == _normalised(c.requested) or (
                c.current is not None and _normalised(c.current) != held
            ):
                items.append(Item(key, A.REFUSE, (R.CONTENT_ACCURATE,), system_key=h.system_key))
            else:
                items.append(Item(key, A.GRANT, system_key=h.system_key, system_action=S.RECTIFY))
    return items


def ground_supported(ground: G, holding: Holding, recorded: RecordedFacts) -> bool:
    """Whether a recorded fact supports a stated ground for this system (docs/rules.md §1: valid
    risks are marketing after an opt-out, weak security, a former contact still listed)."""
    key = holding.system_key
    ads_after_opt_out = holding.advertising and recorded.marketing_after_opt_out
    match G(ground):
        case G.UNLAWFUL_USE:
            return key in recorded.unlawful_use_systems or ads_after_opt_out
        case G.IMPROPER_ACQUISITION:
            return key in recorded.improper_acquisition_systems
        case G.NO_LONGER_NEEDED:
            return not holding.still_needed
        case G.LEAK_OCCURRED:
            return key in recorded.leaked_systems
        case G.RIGHTS_HARMED:
            return ads_after_opt_out or key in recorded.weak_security_systems or recorded.former_contact
        case G.PROVISION_WITHOUT_CONSENT:
            return any(not is_lawful_record(b) for b, _ in recorded.provision_bases)


def _art35_items(facts: RequestFacts, request_type: T) -> list[Item]:
    """Art. 35: act where a valid ground holds, only to the extent needed, and only with what
    the system can do (``Holding.actions``):

    - stop of provision on a system that cannot provide data to third parties (no
      ``stop_provision``): ``grant`` with ``system_action=None`` — the request is met, there is
      nothing to stop, so fulfilment has nothing to ask of that system;
    - erasure of data another law requires keeping: a restriction until the period ends
      (``alternative``, ``legal_retention_duty``; Art. 35(2) proviso);
    - erasure on a system without ``erase``: a restriction instead where it supports
      ``restrict`` (``alternative``, ``alternative_measure``; Art. 35(2) proviso);
    - a suspension or erasure the system supports in no form: ``alternative`` with
      ``system_action=None``, for the operator to take a measure by hand."""
    valid = STOP_PROVISION_GROUNDS if request_type is T.STOP_THIRD_PARTY_PROVISION else SUSPENSION_GROUNDS
    grounds = [G(g) for g in facts.ground_codes if G(g) in valid]
    items: list[Item] = []
    for h in facts.holdings:
        key = h.system_key
        can = frozenset(S(a) for a in h.actions)
        restrict = S.RESTRICT if S.RESTRICT in can else None
        if not h.retained:
            items.append(_not_held(key, key))
        elif not any(ground_supported(g, h, facts.recorded) for g in grounds):
            items.append(Item(key, A.REFUSE, (R.NO_STATUTORY_GROUND,), system_key=key))
        elif request_type is T.STOP_THIRD_PARTY_PROVISION:
            action = S.STOP_PROVISION if S.STOP_PROVISION in can else None
            items.append(Item(key, A.GRANT, system_key=key, system_action=action))
        elif request_type is T.SUSPENSION:
            if restrict:
                items.append(Item(key, A.GRANT, system_key=key, system_action=S.RESTRICT))
            else:
                items.append(Item(key, A.ALTERNATIVE, (R.ALTERNATIVE_MEASURE,), system_key=key))
        elif h.retention_duty:
            items.append(
                Item(key, A.ALTERNATIVE, (R.LEGAL_RETENTION_DUTY,), system_key=key, system_action=restrict)
            )
        elif S.ERASE in can:
            items.append(Item(key, A.GRANT, system_key=key, system_action=S.ERASE))
        else:
            items.append(
                Item(key, A.ALTERNATIVE, (R.ALTERNATIVE_MEASURE,), system_key=key, system_action=restrict)
            )
    return items
