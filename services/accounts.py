"""Operator accounts: added, listed, disabled, given a new password, checked at the gate and
at the command line's login; who made the decision a sign-off covers, and so whether an
account may answer a run's wait (the four eyes of models/rules/access.py).

Every change is audited in the same transaction, under the subject ``account:<name>``; the
trail never holds a password or its hash."""

from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from models.db import unit_of_work
from models.operators import OperatorAccount
from models.requests import DecisionItem, Request
from models.rules.access import (
    PEOPLE_WHO_DECIDE,
    AccountRole,
    SignOff,
    Verdict,
    may_resume,
    name_problems,
    password_problems,
    wait_for,
)
from models.settings import Settings
from services import identity
from services.common import audit

_HASHER = PasswordHasher()
_NO_SUCH_ACCOUNT = _HASHER.hash("no such account: the same work as a real check")


@dataclass(frozen=True)
class Caller:
    """A logged-in account, as the gate and the command line know it."""

    name: str
    role: AccountRole


class AccountInvalid(ValueError):
    """Bad input, by field (``name``, ``password``)."""

    def __init__(self, problems: dict[str, list[str]]):
        super().__init__("; ".join(f"{field}: {', '.join(p)}" for field, p in problems.items()))
        self.problems = problems


class AccountNotFound(LookupError):
    pass


def add(
    session: Session,
    settings: Settings,
    name: str,
    role: AccountRole,
    password: str,
    *,
    actor: str,
    now: datetime,
) -> OperatorAccount:
    problems = {
        field: found
        for field, found in (("name", name_problems(name)), ("password", password_problems(password, name)))
        if found
    }
    if not problems and find(session, name) is not None:
        problems = {"name": ["an account with this name exists (disabled accounts keep their name)"]}
    if problems:
        raise AccountInvalid(problems)
    account = OperatorAccount(
        name=name,
        role=AccountRole(role),
        password_hash=_HASHER.hash(password),
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    audit(
        session,
        settings,
        actor=actor,
        action="account.added",
        reference=f"account:{name}",
        now=now,
        role=str(account.role),
    )
    return account


def accounts(session: Session) -> list[OperatorAccount]:
    return list(session.exec(select(OperatorAccount).order_by(OperatorAccount.name)))


def disable(session: Session, settings: Settings, name: str, *, actor: str, now: datetime) -> bool:
    """False when it was disabled already (nothing to audit)."""
    account = _load(session, name)
    if not account.enabled:
        return False
    account.enabled, account.updated_at = False, now
    session.add(account)
    audit(session, settings, actor=actor, action="account.disabled", reference=f"account:{name}", now=now)
    return True


def set_password(
    session: Session, settings: Settings, name: str, password: str, *, actor: str, now: datetime
) -> None:
    account = _load(session, name)
    if problems := password_problems(password, name):
        raise AccountInvalid({"password": problems})
    account.password_hash, account.updated_at = _HASHER.hash(password), now
    session.add(account)
    audit(
        session,
        settings,
        actor=actor,
        action="account.password_changed",
        reference=f"account:{name}",
        now=now,
    )


def authenticate(session: Session, name: str, password: str) -> OperatorAccount | None:
    """The enabled account with this name and password, else None. An unknown name costs the
    same hash check as a wrong password, so timing does not tell which names exist."""
    account = find(session, name)
    try:
        _HASHER.verify(account.password_hash if account else _NO_SUCH_ACCOUNT, password)
    except (VerificationError, InvalidHashError):
        return None
    return account if account is not None and account.enabled else None


def login(session: Session, name: str, password: str) -> Caller | None:
    """The enabled account with this name and password as a :class:`Caller`, else None."""
    account = authenticate(session, name, password)
    return Caller(account.name, AccountRole(account.role)) if account else None


def resume_verdict(settings: Settings, caller: Caller, pause_key: str, flow_run_id: str) -> Verdict:
    """May ``caller`` answer the run ``flow_run_id`` waiting on ``pause_key``? The one decision
    the gate and the command line both take before a resume: the role the wait needs, and for
    a sign-off, four eyes (the app database is asked only then)."""
    wait, found = wait_for(pause_key), frozenset[str]()
    if wait is not None and wait.four_eyes and caller.role in PEOPLE_WHO_DECIDE:
        with unit_of_work(settings) as session:
            decided = deciders(session, flow_run_id, wait.four_eyes)
        if decided is None:
            return Verdict(False, "four eyes: this run's request is not known")
        found = decided
    return may_resume(caller.role, caller.name, pause_key, deciders=found)


def deciders(session: Session, flow_run_id: str, sign_off: SignOff) -> frozenset[str] | None:
    """The actors who made the decision a sign-off covers, as audited; None when no request
    has this flow run. The run is found by the id the app database keeps, not by the run's
    parameters, which anyone who may edit the run could change."""
    request = session.exec(select(Request).where(Request.flow_run_id == flow_run_id)).first()
    if request is None:
        return None
    if sign_off is SignOff.IDENTITY:
        check = identity.current_check(session, request)
        found = {check.decided_by} if check else set()
    else:
        found = set(
            session.exec(select(DecisionItem.decided_by).where(DecisionItem.request_id == request.id))
        )
    return frozenset(d for d in found if d)


def find(session: Session, name: str) -> OperatorAccount | None:
    """The account with this name, enabled or not."""
    return session.exec(select(OperatorAccount).where(OperatorAccount.name == name)).first()


def _load(session: Session, name: str) -> OperatorAccount:
    account = find(session, name)
    if account is None:
        raise AccountNotFound(name)
    return account
