"""What the pre-screen needs to know about one request, read from the systems and the app
database. The facts hold personal data (correctable values, when the customer last ordered):
they stay in this process."""

import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.ledgers import ProvisionRecord
from models.requests import Party, Request
from models.rules.deadlines import jst_date
from models.rules.prescreen import (
    Correction,
    Holding,
    PriorRequest,
    RecordedFacts,
    RequestFacts,
    still_needed,
)
from models.rules.vocabulary import Delivery, GroundCode, Origin, Role, SystemAction
from services.common import principal_of, subject_of
from services.incidents import leaked_systems
from systems.protocol import Located
from systems.registry import Registry

MARKETING = "marketing"  # the system that sends advertising mail (policy purpose d)
CUSTOMER_MASTER = "customers"  # the system that keeps the accounts and knows when one closed


def gather_facts(
    session: Session, request: Request, *, registry: Registry
) -> tuple[RequestFacts, dict[str, int]]:
    """The pre-screen's facts, and the records located per system (counts only, for the
    operator's summary)."""
    identity = subject_of(request)
    details = request.details
    corrections = tuple(
        Correction(c["field"], c.get("current"), c["requested"]) for c in details.get("corrections", [])
    )
    fields = {c.field for c in corrections}

    def look(key: str, connector) -> tuple:
        located = connector.locate(identity)
        rows = connector.export(identity) if located.found and (fields or key == MARKETING) else []
        return located, rows

    found = registry.across(look)
    received_on = jst_date(request.received_at)
    needed = still_needed(
        found[CUSTOMER_MASTER][0].closed_on if CUSTOMER_MASTER in found else None,
        max(
            (located.last_active_on for located, _ in found.values() if located.last_active_on), default=None
        ),
        received_on,
    )
    holdings, counts, marketing_rows = [], {}, []
    for key, (located, rows) in found.items():
        info = registry.info(key)
        if key == MARKETING:
            marketing_rows = rows
        counts[key] = located.total
        holdings.append(
            Holding(
                system_key=key,
                record_count=located.total,
                origin=origin_of(located),
                retention_duty=info.retention is not None,
                still_needed=needed,
                advertising=key == MARKETING,
                values=current_values(registry, key, rows, corrections),
                actions=frozenset(SystemAction(a) for a in info.actions),
            )
        )
    recorded = RecordedFacts(
        marketing_after_opt_out=mailed_after_opt_out(marketing_rows),
        provision_bases=provision_bases(session, identity.email),
        leaked_systems=leaked_systems(session, identity.customer_ids),
    )
    facts = RequestFacts(
        request_type=request.request_type,
        received_on=received_on,
        holdings=tuple(holdings),
        ground_codes=frozenset(GroundCode(g) for g in details.get("ground_codes", [])),
        recorded=recorded,
        corrections=corrections,
        prior_requests=prior_requests(session, request),
        include_third_party_records=bool(details.get("include_third_party_records")),
        delivery=Delivery(details.get("delivery", Delivery.ELECTRONIC)),
    )
    return facts, counts


def origin_of(located: Located) -> Origin:
    """One origin per system. Any row the company collected itself makes the system hold
    retained personal data, to be answered; the rows obtained otherwise are left out of the
    package and out of every action (``disclosure.build``, ``DatabaseConnector._own``), so
    answering reveals nothing of them. Only a system holding none of its own data is withheld:
    as an authority's inquiry when any row came from one (Cabinet Order Art. 5, the stricter
    case), else as held for another company."""
    for origin in (Origin.COLLECTED, Origin.AUTHORITY_INQUIRY, Origin.HELD_FOR_OTHER_COMPANY):
        if origin in located.origins:
            return origin
    return Origin.COLLECTED


def current_values(
    registry: Registry, key: str, rows: list[dict[str, Any]], corrections: Iterable[Correction]
) -> dict[str, str | None]:
    """The subject's held value of each field a correction names, where this system keeps that
    field (the parts' ``rectify`` maps). Rows may disagree (two deliveries, two phones): the
    value the requester calls current wins, else one that differs from the requested value,
    so that the pre-screen never calls a correction needless while some row still needs it."""
    parts = registry.definition(key).parts
    own = [r for r in rows if r.get("origin", Origin.COLLECTED) == Origin.COLLECTED]
    values: dict[str, str | None] = {}
    for c in corrections:
        held = [
            r[column]
            for r in own
            for p in parts
            if r.get("_category", p.category) == p.category
            and (column := p.rectify.get(c.field))
            and column in r
        ]
        if not held:
            continue
        values[c.field] = next(
            (v for v in held if c.current is not None and _same(v, c.current)),
            next((v for v in held if not _same(v, c.requested)), held[0]),
        )
    return values


def _same(a: str | None, b: str | None) -> bool:
    """Equal as the pre-screen compares: width, case and spaces do not count."""

    def norm(v: str | None) -> str:
        return "".join(unicodedata.normalize("NFKC", v or "").split()).casefold()

    return norm(a) == norm(b)


def mailed_after_opt_out(rows: list[dict[str, Any]]) -> bool:
    """Advertising mail sent to a subscription after it was opted out (docs/rules.md §1)."""
    opted_out = {
        r["subscriber_id"]: datetime.fromisoformat(r["opted_out_at"])
        for r in rows
        if r.get("_category") == "subscriptions" and r.get("opted_out") and r.get("opted_out_at")
    }
    return any(
        r.get("advertising")
        and r["subscriber_id"] in opted_out
        and datetime.fromisoformat(r["sent_at"]) > opted_out[r["subscriber_id"]]
        for r in rows
        if r.get("_category") == "mailings"
    )


def provision_bases(session: Session, email: str) -> tuple[tuple[str | None, bool], ...]:
    """(basis, foreign recipient) of every recorded third-party provision of the subject."""
    records = session.exec(
        select(ProvisionRecord.basis, ProvisionRecord.is_foreign)
        .where(func.lower(ProvisionRecord.subject_email) == email.lower())
        .order_by(col(ProvisionRecord.id))
    )
    return tuple((basis, bool(foreign)) for basis, foreign in records)


def prior_requests(session: Session, request: Request) -> tuple[PriorRequest, ...]:
    """The same principal's earlier requests (by email), for Art. 33(2)(ii) repetition."""
    email = principal_of(session, request).email.lower()
    rows = session.exec(
        select(col(Request.request_type), Request.received_at)
        .join(Party, col(Party.request_id) == Request.id)
        .where(
            Party.role == Role.PRINCIPAL,
            func.lower(Party.email) == email,
            Request.id != request.id,
            Request.received_at <= request.received_at,
        )
        .order_by(col(Request.received_at))
    )
    return tuple(PriorRequest(t, jst_date(at)) for t, at in rows)
