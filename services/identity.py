"""Identity verification (docs/rules.md §4): the principal is matched to the customer record and
proves it by the route their channel gives (models/rules/identity.route_for): a one-time code
sent to the registered email; by post, a copy of an identity document the help desk scans and
attaches, checked by an operator and answered by registered mail; by phone, a call back to the
registered number, its outcome given by an operator. An agent's own identity and authority are
checked by an operator from the documents they send."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from mail.outbox import enqueue
from models.audit import AuditEvent
from models.db import row_id, table_of
from models.requests import Document, IdentityCheck, Party, Request
from models.rules.deadlines import JST, jst_date
from models.rules.identity import (
    ROUTE_REASONS,
    Callback,
    Contact,
    DocumentKind,
    IdentityStatus,
    PostalCheck,
    Requirement,
    Route,
    document_kinds,
    match_principal,
    route_deadline,
    route_for,
    route_verdict,
)
from models.rules.identity import missing_documents as documents_lacking
from models.rules.one_time_code import (
    CODE_TTL,
    MAX_ATTEMPTS,
    CodeState,
    CodeStatus,
    Verdict,
    check_code,
    generate_code,
    issue_code,
)
from models.rules.register import channel_of
from models.rules.states import IdentityState
from models.rules.vocabulary import FINAL_STATUSES, ReasonCode, Status, WaitingFor
from models.settings import Settings
from services import clock, letters, notices
from services.common import audit, load_request, move, principal_of, requester_of
from systems.identity import SubjectIdentity, expand_identity
from systems.registry import Registry

CUSTOMER_MASTER, CUSTOMER_PROFILE = "customers", "customer_profile"  # where the §1.1 details are


def state_of(session: Session, request: Request) -> IdentityState:
    """The latest check decides: an officer who sent a failure back opened a new one."""
    check = current_check(session, request)
    return IdentityState.PENDING if check is None else IdentityState(check.state)


def reopen(session: Session, settings: Settings, reference: str, *, actor: str, now: datetime) -> None:
    """The privacy officer did not sign off an identity refusal: an operator checks again, by
    the request's own route when it came by post or phone (the copy already attached, or a new
    call back with a new deadline), else from the documents (docs/rules.md §4)."""
    request = load_request(session, reference)
    route = route_for(request.role, channel(session, request))
    session.add(
        IdentityCheck(
            request_id=row_id(request),
            party_id=row_id(requester_of(session, request)),
            method=route if route in ROUTE_REASONS else Route.DOCUMENTS,
            expires_at=route_deadline(route, now) if route in ROUTE_REASONS else None,
        )
    )
    request.reason_codes = []
    session.add(request)
    audit(session, settings, actor=actor, action="request.identity.sent_back", reference=reference, now=now)


def current_check(session: Session, request: Request) -> IdentityCheck | None:
    return session.exec(
        select(IdentityCheck)
        .where(IdentityCheck.request_id == request.id)
        .order_by(col(IdentityCheck.id).desc())
    ).first()


def start(
    session: Session, settings: Settings, reference: str, *, registry: Registry, now: datetime
) -> IdentityState:
    """Match the principal, find the subject in every system, then send a code or ask an agent
    for documents. Re-running it once a check exists changes nothing."""
    request = load_request(session, reference)
    if current_check(session, request) is not None:
        return state_of(session, request)
    move(session, settings, request, Status.IDENTITY_VERIFICATION, now=now)
    route = route_for(request.role, channel(session, request))
    principal = principal_of(session, request)
    subject = expand_identity(principal.email, registry)
    record = _customer_record(registry, subject)
    if record is not None:
        given = Contact(principal.email, principal.login_id, principal.phone, principal.company)
        held = Contact(
            record.get("email"), record.get("login_id"), record.get("phone"), record.get("company")
        )
        result = match_principal(given, held)
        audit(
            session,
            settings,
            actor="system",
            action="request.identity.matched",
            reference=reference,
            now=now,
            matched=result.matched,
            fields=list(result.matched_fields),
        )
        if not result.matched:
            if route in ROUTE_REASONS:  # the registered details are the phone and postal routes' own test
                request.reason_codes = [str(ROUTE_REASONS[route])]
            session.add(
                IdentityCheck(
                    request_id=row_id(request),
                    party_id=row_id(principal),
                    method="record_match",
                    state=IdentityState.FAILED,
                    decided_by="system",
                    decided_at=now,
                )
            )
            return IdentityState.FAILED
        principal.customer_ref = record.get("customer_id")
        session.add(principal)
    request.subject = subject.to_dict()
    session.add(request)
    if route in (Route.POST, Route.PHONE):
        _start_route(session, settings, request, principal, route, now=now)
    elif route is Route.CODE:
        check = IdentityCheck(request_id=row_id(request), party_id=row_id(principal), method="one_time_code")
        session.add(check)
        session.flush()
        _send_code(session, settings, request, check, principal, now=now)
    else:
        agent = requester_of(session, request)
        session.add(IdentityCheck(request_id=row_id(request), party_id=row_id(agent), method="documents"))
        missing = missing_documents(session, request)
        if missing:  # none when the agent uploaded them all before this run started
            _ask_for_documents(session, settings, request, missing, now=now)
    return IdentityState.PENDING


def channel(session: Session, request: Request) -> str:
    """How the request came (``web``, ``phone``, ``post`` ...): its ``request.received`` audit event
    names it, as the register reads it (models/rules/register.channel_of)."""
    actor = session.exec(
        select(AuditEvent.actor).where(
            AuditEvent.subject_ref == request.reference, AuditEvent.action == "request.received"
        )
    ).first()
    return channel_of(actor or "")


def _start_route(
    session: Session, settings: Settings, request: Request, principal: Party, route: Route, *, now: datetime
) -> None:
    """A check by post or phone, due at the route's deadline (kept as the check's ``expires_at``).
    By post the request waits for the copy of an identity document, the clock paused, unless the
    help desk attached it already (it came with the letter); by phone an operator calls back."""
    deadline = route_deadline(route, now)
    check = IdentityCheck(
        request_id=row_id(request), party_id=row_id(principal), method=route, expires_at=deadline
    )
    session.add(check)
    session.flush()
    if route is Route.POST and not has_identity_document(session, request):
        clock.pause(session, settings, request, WaitingFor.IDENTITY_DOCUMENT, now=now, deadline_at=deadline)
        move(
            session,
            settings,
            request,
            Status.AWAITING_REQUESTER,
            now=now,
            waiting_for=WaitingFor.IDENTITY_DOCUMENT,
        )
    audit(
        session,
        settings,
        actor="system",
        action="request.identity.route_started",
        reference=request.reference,
        now=now,
        route=str(route),
        deadline=deadline.astimezone(JST).isoformat(),
    )


def has_identity_document(session: Session, request: Request) -> bool:
    """The help desk attached a copy of the principal's identity document."""
    return (
        session.exec(
            select(Document.id).where(
                Document.request_id == request.id, Document.kind == DocumentKind.IDENTITY_DOCUMENT
            )
        ).first()
        is not None
    )


def missing_documents(session: Session, request: Request) -> tuple[Requirement, ...]:
    """What the request's documents cannot show yet (nothing for a principal)."""
    uploaded = session.exec(select(Document.kind).where(Document.request_id == request.id)).all()
    return documents_lacking(request.role, uploaded)


def _ask_for_documents(
    session: Session,
    settings: Settings,
    request: Request,
    missing: tuple[Requirement, ...],
    *,
    now: datetime,
) -> None:
    """The request waits for the agent's uploads; the clock pauses meanwhile."""
    pause = clock.pause(session, settings, request, WaitingFor.DOCUMENTS, now=now)
    notices.send(
        session,
        settings,
        request,
        "documents_needed",
        {
            "reference": request.reference,
            "required_documents": [str(k) for r in missing for k in document_kinds(r)],
            "deadline": jst_date(pause.deadline_at).isoformat(),
            "upload_url": f"{settings.mail_public_base_url}/requests/{request.reference}/documents",
        },
        key=f"{request.reference}:documents_needed",
        now=now,
    )
    move(session, settings, request, Status.AWAITING_REQUESTER, now=now, waiting_for=WaitingFor.DOCUMENTS)


def _customer_record(registry: Registry, subject: SubjectIdentity) -> dict | None:
    """The customer master's row for this subject, if the subject is a customer."""
    if not subject.found:
        return None
    rows = [
        r for r in registry.connector(CUSTOMER_MASTER).export(subject) if r["_category"] == CUSTOMER_PROFILE
    ]
    return rows[0] if rows else None


def _code_state(check: IdentityCheck) -> CodeState:
    """The rules' state; the stored hash is ``<key id>:<hash>``, the rules see the hash."""
    status = {IdentityState.PENDING: CodeStatus.PENDING, IdentityState.VERIFIED: CodeStatus.VERIFIED}.get(
        check.state, CodeStatus.FAILED
    )
    code_hash = check.code_hash.partition(":")[2] if check.code_hash else None
    return CodeState(status, code_hash, check.expires_at, check.attempts, check.codes_issued)


def _store(check: IdentityCheck, state: CodeState, kid: str) -> None:
    check.state = {
        CodeStatus.PENDING: IdentityState.PENDING,
        CodeStatus.VERIFIED: IdentityState.VERIFIED,
    }.get(state.status, IdentityState.FAILED)
    check.code_hash = f"{kid}:{state.code_hash}" if state.code_hash else None
    check.expires_at = state.expires_at
    check.attempts, check.codes_issued = state.attempts, state.codes_issued


def _code_key(settings: Settings, check: IdentityCheck) -> tuple[str, bytes]:
    """The key id and key a code is checked with: the one its hash names, so that a code sent
    just before a key rotation still works."""
    kid = check.code_hash.partition(":")[0] if check.code_hash else settings.key_id
    return kid, settings.secret_for(kid).encode()


def _send_code(
    session: Session,
    settings: Settings,
    request: Request,
    check: IdentityCheck,
    principal: Party,
    *,
    now: datetime,
) -> Verdict:
    code = generate_code()
    state, verdict = issue_code(_code_state(check), code, now=now, secret=settings.secret.encode())
    _store(check, state, settings.key_id)
    session.add(check)
    if verdict is Verdict.ISSUED:
        clock.pause(session, settings, request, WaitingFor.ONE_TIME_CODE, now=now)
        enqueue(
            session,
            kind="one_time_code",
            language=request.language,
            recipient_email=principal.email,
            idempotency_key=f"{request.reference}:one_time_code:{state.codes_issued}",
            request_id=request.id,
            now=now,
            context={
                "reference": request.reference,
                "code": code,
                "expires_minutes": int(CODE_TTL.total_seconds() // 60),
            },
        )
        move(
            session,
            settings,
            request,
            Status.AWAITING_REQUESTER,
            now=now,
            waiting_for=WaitingFor.ONE_TIME_CODE,
        )
    audit(
        session,
        settings,
        actor="system",
        action=f"request.identity.code_{verdict}",
        reference=request.reference,
        now=now,
        codes_issued=state.codes_issued,
    )
    return verdict


def resend_code(session: Session, settings: Settings, reference: str, *, now: datetime) -> Verdict:
    """A new code when the last one expired or ran out of attempts (at most three in all);
    none for a request that has ended."""
    request = load_request(session, reference)
    check = current_check(session, request)
    if request.status.is_final or check is None or check.method != "one_time_code":
        return Verdict.NO_CODE
    return _send_code(session, settings, request, check, principal_of(session, request), now=now)


def submit_code(session: Session, settings: Settings, reference: str, code: str, *, now: datetime) -> Verdict:
    """The requester's answer. Its attempt is counted first, in the database, so that answers
    arriving at once each take one of the code's attempts or find none left."""
    counted = _count_attempt(session, reference, now=now)
    request = load_request(session, reference)
    check = current_check(session, request)
    if request.status.is_final or check is None or check.method != "one_time_code":
        return Verdict.NO_CODE  # an ended request (withdrawn meanwhile) awaits no code
    kid, secret = _code_key(settings, check)
    state, verdict = check_code(_code_state(check), code, counted=counted, now=now, secret=secret)
    _store(check, state, kid)
    if verdict is Verdict.VERIFIED:
        check.decided_by, check.decided_at = "requester", now
        clock.resume(session, settings, request, now=now)
        move(session, settings, request, Status.IDENTITY_VERIFICATION, now=now)
    session.add(check)
    audit(
        session,
        settings,
        actor="requester",
        action=f"request.identity.code_{verdict}",
        reference=reference,
        now=now,
        attempts=state.attempts,
    )
    return verdict


def _count_attempt(session: Session, reference: str, *, now: datetime) -> bool:
    """One attempt on the request's live code, if it has one: a conditional update, the first
    statement of the transaction, so it takes the lock (SQLite's database lock, PostgreSQL's row
    lock) before anything is read and concurrent answers queue behind it."""
    checks, latest = table_of(IdentityCheck), aliased(IdentityCheck)
    current = (
        select(func.max(latest.id))
        .join(Request, col(Request.id) == latest.request_id)
        .where(Request.reference == reference)
        .scalar_subquery()
    )
    counted = session.execute(
        update(checks)
        .where(
            checks.c.id == current,
            checks.c.method == "one_time_code",
            checks.c.state == IdentityState.PENDING,
            checks.c.code_hash.is_not(None),
            checks.c.expires_at > now,
            checks.c.attempts < MAX_ATTEMPTS,
        )
        .values(attempts=checks.c.attempts + 1)
        .returning(checks.c.id)
    ).first()
    return counted is not None


def decide(
    session: Session,
    settings: Settings,
    reference: str,
    *,
    verified: bool,
    reason: ReasonCode | None,
    actor: str,
    now: datetime,
) -> IdentityState:
    """An operator's word on an agent's documents (or on a principal who proved identity by post
    or phone): verified, or failed with ``identity_not_verified``/``agent_authority_not_shown``."""
    request = load_request(session, reference)
    check = current_check(session, request)
    if check is None:
        raise LookupError(f"{reference}: identity check not started")
    if not verified and reason not in (
        ReasonCode.IDENTITY_NOT_VERIFIED,
        ReasonCode.AGENT_AUTHORITY_NOT_SHOWN,
        *ROUTE_REASONS.values(),
    ):
        raise ValueError("a failed identity check needs an identity reason code")
    check.state = IdentityState.VERIFIED if verified else IdentityState.FAILED
    check.decided_by, check.decided_at = actor, now
    session.add(check)
    if not verified:
        request.reason_codes = [str(reason)]
    clock.resume(session, settings, request, now=now)
    move(session, settings, request, Status.IDENTITY_VERIFICATION, now=now, actor=actor)
    audit(
        session,
        settings,
        actor=actor,
        action="request.identity.decided",
        reference=reference,
        now=now,
        verified=verified,
        reason=str(reason) if reason else None,
        route=check.method,
    )
    return state_of(session, request)


def decide_route(
    session: Session,
    settings: Settings,
    reference: str,
    outcome: str | None,
    *,
    actor: str,
    now: datetime,
) -> IdentityState:
    """An operator's word on a check by post or phone, a :class:`PostalCheck` or a
    :class:`Callback` code (None: the call-back deadline passed with no answer). A call not answered is counted and the check stays open until its deadline;
    a principal verified by post is answered by registered mail to the address on the copy."""
    request = load_request(session, reference)
    check = current_check(session, request)
    if check is None or check.method not in ROUTE_REASONS:
        raise LookupError(f"{reference}: no identity check by post or phone")
    route = Route(check.method)
    answer = None if outcome is None else PostalCheck(outcome) if route is Route.POST else Callback(outcome)
    verdict = route_verdict(route, answer, deadline_passed=_deadline(check) <= now)
    if verdict.status is IdentityStatus.MISSING:
        check.attempts += 1
        session.add(check)
        audit(
            session,
            settings,
            actor=actor,
            action="request.identity.callback_not_reached",
            reference=reference,
            now=now,
            attempts=check.attempts,
        )
        return IdentityState.PENDING
    verified = verdict.status is IdentityStatus.VERIFIED
    state = decide(
        session, settings, reference, verified=verified, reason=verdict.reason, actor=actor, now=now
    )
    if verified and route is Route.POST:
        letters.write(
            session,
            settings,
            request,
            "identity_confirmed",
            {
                "reference": reference,
                "request_type": str(request.request_type),
                "verified_on": jst_date(now).isoformat(),
                "due_date": jst_date(request.due_at or now).isoformat(),
            },
            now=now,
        )
    return state


def _deadline(check: IdentityCheck) -> datetime:
    """A check by post or phone is due at its route's deadline, kept as its ``expires_at``."""
    if check.expires_at is None:
        raise ValueError(f"identity check {check.id} by {check.method} has no deadline")
    return check.expires_at


@dataclass(frozen=True)
class CallbackSheet:
    """What the operator calling back reads on the gate's page, never in Prefect: the number
    the customer record holds and the details the request matched it on."""

    reference: str
    registered_phone: str | None
    matched_fields: tuple[str, ...]
    deadline_at: datetime
    attempts: int


def callback_sheet(
    session: Session, settings: Settings, reference: str, *, registry: Registry, actor: str, now: datetime
) -> CallbackSheet:
    """The call-back sheet of a request checked by phone (LookupError: it is not); audited."""
    request = load_request(session, reference)
    check = current_check(session, request)
    if check is None or check.method != Route.PHONE:
        raise LookupError(f"{reference}: no identity check by phone")
    record = (
        _customer_record(registry, SubjectIdentity.from_dict(request.subject)) if request.subject else None
    )
    matched = session.exec(
        select(AuditEvent.details)
        .where(AuditEvent.subject_ref == reference, AuditEvent.action == "request.identity.matched")
        .order_by(col(AuditEvent.seq).desc())
    ).first()
    audit(
        session,
        settings,
        actor=actor,
        action="request.identity.callback_sheet_viewed",
        reference=reference,
        now=now,
    )
    return CallbackSheet(
        reference,
        record.get("phone") if record else None,
        tuple((matched or {}).get("fields", ())),
        _deadline(check),
        check.attempts,
    )


@dataclass(frozen=True)
class RouteDue:
    """An open request whose identity is checked by post or phone, and the route's deadline."""

    reference: str
    route: str
    flow_run_id: str | None
    deadline_at: datetime


def route_queue(session: Session) -> list[RouteDue]:
    """Open requests whose identity is being checked by post or phone, earliest deadline first,
    for the SLA monitor's work queue."""
    rows = session.exec(
        select(Request.reference, IdentityCheck.method, Request.flow_run_id, IdentityCheck.expires_at)
        .join(Request, col(Request.id) == IdentityCheck.request_id)
        .where(
            col(IdentityCheck.method).in_([Route.POST, Route.PHONE]),
            IdentityCheck.state == IdentityState.PENDING,
            col(Request.status).not_in(FINAL_STATUSES),
        )
        .order_by(col(IdentityCheck.expires_at))
    ).all()
    return [RouteDue(*row) for row in rows]


def decide_by_autopilot(
    session: Session, settings: Settings, reference: str, *, now: datetime
) -> IdentityState:
    """Autopilot (demos and tests) takes an operator's place, never more: an agent whose
    documents cannot show their identity and authority is not verified; by post the copy is
    there (the run waited for it), by phone the call is taken as confirmed."""
    request = load_request(session, reference)
    check = current_check(session, request)
    if check is not None and check.method == Route.POST:
        return decide_route(session, settings, reference, PostalCheck.VERIFIED, actor="autopilot", now=now)
    if check is not None and check.method == Route.PHONE:
        return decide_route(session, settings, reference, Callback.CONFIRMED, actor="autopilot", now=now)
    missing = missing_documents(session, request)
    return decide(
        session,
        settings,
        reference,
        verified=not missing,
        reason=missing[0].reason if missing else None,
        actor="autopilot",
        now=now,
    )


def refusal_reason(session: Session, request: Request) -> ReasonCode:
    """Why identity failed: the operator's code, or ``identity_not_verified``."""
    codes = [ReasonCode(c) for c in request.reason_codes]
    return codes[0] if codes else ReasonCode.IDENTITY_NOT_VERIFIED
