"""Operator accounts: added, listed, disabled, given a new password, checked at the gate; and
who made the decision a sign-off covers (the four eyes of models/rules/access.py).

Every change is audited in the same transaction, under the subject ``account:<name>``; the
trail never holds a password or its hash."""

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from models.operators import OperatorAccount
from models.requests import DecisionItem, Request
from models.rules.access import AccountRole, SignOff, name_problems, password_problems
from models.settings import Settings
from services import identity
from services.common import audit

_HASHER = PasswordHasher()
_NO_SUCH_ACCOUNT = _HASHER.hash("no such account: the same work as a real check")


class AccountInvalid(ValueError):
    """Bad input, by field (``name``, ``password``)."""

    def __init__(self, problems: dict[str, list[str]]):
        super().__init__("; ".join(f"{field}: {', '.join(p)}" for field, p in problems.items()))
        self.problems = problems


class AccountNotFound(LookupError):
    pass


def add(session: Session, settings: Settings, name: str, role: AccountRole, password: str, *,
        actor: str, now: datetime) -> OperatorAccount:
    problems = {field: found for field, found in
                (("name", name_problems(name)), ("password", password_problems(password, name))) if found}
    if not problems and _find(session, name) is not None:
        problems = {"name": ["an account with this name exists (disabled accounts keep their name)"]}
    if problems:
        raise AccountInvalid(problems)
    account = OperatorAccount(name=name, role=AccountRole(role), password_hash=_HASHER.hash(password),
                              created_at=now, updated_at=now)
    session.add(account)
    audit(session, settings, actor=actor, action="account.added", reference=f"account:{name}", now=now,
          role=str(account.role))
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


def set_password(session: Session, settings: Settings, name: str, password: str, *, actor: str,
                 now: datetime) -> None:
    account = _load(session, name)
    if problems := password_problems(password, name):
        raise AccountInvalid({"password": problems})
    account.password_hash, account.updated_at = _HASHER.hash(password), now
    session.add(account)
    audit(session, settings, actor=actor, action="account.password_changed", reference=f"account:{name}",
          now=now)


def authenticate(session: Session, name: str, password: str) -> OperatorAccount | None:
    """The enabled account with this name and password, else None. An unknown name costs the
    same hash check as a wrong password, so timing does not tell which names exist."""
    account = _find(session, name)
    try:
        _HASHER.verify(account.password_hash if account else _NO_SUCH_ACCOUNT, password)
    except (VerificationError, InvalidHashError):
        return None
    return account if account is not None and account.enabled else None


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
        found = set(session.exec(select(DecisionItem.decided_by).where(DecisionItem.request_id == request.id)))
    return frozenset(d for d in found if d)


def _find(session: Session, name: str) -> OperatorAccount | None:
    return session.exec(select(OperatorAccount).where(OperatorAccount.name == name)).first()


def _load(session: Session, name: str) -> OperatorAccount:
    account = _find(session, name)
    if account is None:
        raise AccountNotFound(name)
    return account
