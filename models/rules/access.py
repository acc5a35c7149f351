"""Who may do what in front of Prefect (issue 12): operator accounts, the waits each role may
answer, four eyes on a sign-off, and the API calls that change or destroy what exists.

Pure data and functions: the gate (web/gate.py) reads the run's pause key and the account,
the app database says who made the decision being signed off, and these rules decide.

A run waits on a key its flow chooses (flows/lifecycle.py, provision.py, contractors.py,
inquiries.py). Each key belongs to one kind of wait; a key no rule names is answered by
nobody: a new wait needs its line in :data:`WAITS` before a person can resume it.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

NAME_PATTERN = re.compile(r"[a-z][a-z0-9._-]{1,39}")  # ASCII, no ":" (basic auth splits on it)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


class AccountRole(StrEnum):
    OPERATOR = "operator"  # reviews, document checks, payments, failing systems, inquiries
    OFFICER = "officer"    # the privacy officer: signs off refusals, provisions, contractors
    ADMIN = "admin"        # manages Prefect itself (deletes, state changes); decides nothing
    SERVICE = "service"    # workers, the dispatcher, the intake, the monitor: wakes runs


PEOPLE_WHO_DECIDE = frozenset({AccountRole.OPERATOR, AccountRole.OFFICER})


class SignOff(StrEnum):
    """What a sign-off covers, so the gate can ask the app database who decided it."""
    REVIEW = "review"      # the feasibility decision (decision items)
    IDENTITY = "identity"  # an operator's refusal of an agent's documents


@dataclass(frozen=True)
class Wait:
    kind: str
    pattern: re.Pattern
    roles: frozenset[AccountRole]
    four_eyes: SignOff | None = None

    @property
    def requester(self) -> bool:
        return self.roles == {AccountRole.SERVICE}


_OPERATOR_WORK = PEOPLE_WHO_DECIDE  # an officer may do an operator's work, then not sign it off
_OFFICER = frozenset({AccountRole.OFFICER})
_SERVICE = frozenset({AccountRole.SERVICE})

WAITS: tuple[Wait, ...] = (
    # the requester's own waits: the intake and the monitor wake them after the requester acts
    Wait("one_time_code", re.compile(r"identity-\d+-\d+(?:-again-\d+)?"), _SERVICE),
    Wait("clarification", re.compile(r"clarification-\d+(?:-again-\d+)?"), _SERVICE),
    # an operator's word
    Wait("document_review", re.compile(r"identity-review-\d+"), _OPERATOR_WORK),
    Wait("review", re.compile(r"review-\d+-\d+-\d+"), _OPERATOR_WORK),
    Wait("payment", re.compile(r"payment"), _OPERATOR_WORK),
    Wait("system_failure", re.compile(r"failure-.+-\d+"), _OPERATOR_WORK),
    Wait("inquiry_answer", re.compile(r"answer-\d+"), _OPERATOR_WORK),
    # the privacy officer's word
    Wait("sign_off", re.compile(r"approval-\d+"), _OFFICER, SignOff.REVIEW),
    Wait("identity_sign_off", re.compile(r"identity-approval-\d+"), _OFFICER, SignOff.IDENTITY),
    Wait("provision", re.compile(r"provision-\d+"), _OFFICER),
    Wait("contractor_approval", re.compile(r"contractor-approval-\d+"), _OFFICER),
    Wait("deletion_certificate", re.compile(r"deletion-certificate"), _OFFICER),
)


def wait_for(pause_key: str) -> Wait | None:
    """The kind of wait a pause key belongs to, or None when no rule names it."""
    return next((w for w in WAITS if w.pattern.fullmatch(pause_key)), None)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""


def person_of(actor: str) -> str:
    """The person in an audited actor: ``operator:sato`` and ``sato`` are both ``sato``."""
    return actor.partition(":")[2] if ":" in actor else actor


def may_resume(role: AccountRole, name: str, pause_key: str, *, has_input: bool,
               deciders: frozenset[str] = frozenset()) -> Verdict:
    """May this account resume a run waiting on ``pause_key``? ``deciders`` are the people who
    made the decision a sign-off covers (four eyes).

    The service account only wakes runs: a wake without input makes a run look at the app
    database again (the requester acted, a deadline passed); it never answers a person's form."""
    wait = wait_for(pause_key)
    if role is AccountRole.SERVICE:
        if has_input and (wait is None or not wait.requester):
            return Verdict(False, "the service account wakes runs; it does not answer a person's form")
        return Verdict(True)
    if wait is None:
        return Verdict(False, f"no rule names the wait {pause_key!r}")
    if role not in wait.roles:
        needed = " or ".join(sorted(wait.roles))
        return Verdict(False, f"the wait {wait.kind!r} needs the role {needed}, not {role}")
    if wait.four_eyes and name in {person_of(d) for d in deciders}:
        return Verdict(False, f"four eyes: {name} made the decision this {wait.kind!r} signs off")
    return Verdict(True)


@dataclass(frozen=True)
class ApiRule:
    """Calls matching ``method`` and ``path`` (relative to ``/api``) are for ``roles`` only."""
    method: str
    path: re.Pattern
    roles: frozenset[AccountRole]


_MACHINES = frozenset({AccountRole.ADMIN, AccountRole.SERVICE})
_ADMIN = frozenset({AccountRole.ADMIN})

# First match wins; a call no rule matches is open to every account (reads, filters, resume).
API_RULES: tuple[ApiRule, ...] = (
    ApiRule("DELETE", re.compile(r"/flow_runs/[^/]+/input/[^/]+"), _MACHINES),  # a flow forgets an answer
    ApiRule("DELETE", re.compile(r"/work_pools/[^/]+"), _MACHINES),  # `up` replaces an old pool
    ApiRule("DELETE", re.compile(r"/.*"), _ADMIN),
    ApiRule("POST", re.compile(r"/(?:flow_runs|task_runs)/[^/]+/set_state"), _MACHINES),  # workers, engine
    ApiRule("PATCH", re.compile(r"/flow_runs/[^/]+"), _MACHINES),  # e.g. its parameters
    # a run's inputs are its forms and their answers: only the flow writes them, and an answer
    # arrives through the resume (where the gate checks and stamps it)
    ApiRule("POST", re.compile(r"/flow_runs/[^/]+/input(?:/.*)?"), _MACHINES),
    # what a worker runs: deployments and pools define code and commands
    ApiRule("POST", re.compile(r"/deployments/?"), _MACHINES),
    ApiRule("PATCH", re.compile(r"/deployments/[^/]+"), _MACHINES),
    ApiRule("PATCH", re.compile(r"/work_pools/[^/]+"), _MACHINES),
)


def may_call(role: AccountRole, method: str, path: str) -> Verdict:
    """May this account make an API call? ``path`` is relative to ``/api``."""
    path = path.rstrip("/") or "/"  # Prefect redirects ``…/set_state/`` to ``…/set_state``
    for rule in API_RULES:
        if rule.method == method.upper() and rule.path.fullmatch(path):
            if role in rule.roles:
                return Verdict(True)
            return Verdict(False, f"{method.upper()} {path} is for the role {' or '.join(sorted(rule.roles))}")
    return Verdict(True)


def name_problems(name: str) -> list[str]:
    if not NAME_PATTERN.fullmatch(name):
        return ["2-40 characters: lowercase ASCII letters, digits, '.', '_' or '-', starting with a letter"]
    return []


def password_problems(password: str, name: str) -> list[str]:
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"at most {MAX_PASSWORD_LENGTH} characters")
    if name and name.lower() in password.lower():
        problems.append("must not contain the account name")
    if password != password.strip() or any(c in password for c in "\r\n\x00"):
        problems.append("no leading or trailing spaces, line breaks or NUL")
    return problems
