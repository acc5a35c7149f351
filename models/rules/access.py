"""Who may do what in front of Prefect (issue 12): operator accounts, the waits each role may
answer, four eyes on a sign-off, and the API calls that change or destroy what exists.

Pure data and functions: the gate (web/gate.py) reads the run's pause key and the account,
the app database says who made the decision being signed off, and these rules decide.

A run waits on a key its flow chooses (flows/lifecycle.py, provision.py, contractors.py,
inquiries.py, policy.py, incidents.py; a person's form is ``operator-…`` or ``officer-…``, see flows/waits.ask). Each key
belongs to one kind of wait; a key no rule names is answered by no person: a new form needs
its line in :data:`WAITS` before anyone can answer it.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

NAME_PATTERN = re.compile(r"[a-z][a-z0-9._-]{1,39}")  # ASCII, no ":" (basic auth splits on it)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


class AccountRole(StrEnum):
    OPERATOR = "operator"  # reviews, document checks, payments, failing systems, inquiries
    OFFICER = "officer"  # the privacy officer: signs off refusals, provisions, contractors
    ADMIN = "admin"  # manages Prefect itself (deletes, state changes); decides nothing
    SERVICE = "service"  # workers, the dispatcher, the intake, the monitor: wakes runs


PEOPLE_WHO_DECIDE = frozenset({AccountRole.OPERATOR, AccountRole.OFFICER})


class SignOff(StrEnum):
    """What a sign-off covers, so the gate can ask the app database who decided it."""

    REVIEW = "review"  # the feasibility decision (decision items)
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

PERSON_WAIT = re.compile(r"(?:operator|officer)-.+")  # flows/waits.ask: "<who>-<key>"
_AGAIN = r"(?:-again-\d+)?"  # the same wait asked again (flows/waits.py, services/requester_waits.py)


def _key(pattern: str) -> re.Pattern:
    return re.compile(pattern + _AGAIN)


WAITS: tuple[Wait, ...] = (
    # the requester's own waits: the intake and the monitor wake them after the requester acts
    Wait("one_time_code", _key(r"identity-\d+-\d+"), _SERVICE),
    Wait("clarification", _key(r"clarification-\d+"), _SERVICE),
    # an operator's word (flows/waits.ask names the key "operator-…")
    Wait("document_review", _key(r"operator-identity-review-\d+"), _OPERATOR_WORK),
    Wait("postal_review", _key(r"operator-identity-postal-\d+"), _OPERATOR_WORK),
    Wait("callback", _key(r"operator-identity-callback-\d+-\d+"), _OPERATOR_WORK),
    Wait("review", _key(r"operator-review-\d+-\d+-\d+"), _OPERATOR_WORK),
    Wait("payment", _key(r"operator-payment"), _OPERATOR_WORK),
    Wait("system_failure", _key(r"operator-failure-[\w.-]+?-\d+"), _OPERATOR_WORK),
    Wait("inquiry_answer", _key(r"operator-answer-\d+"), _OPERATOR_WORK),
    # the privacy officer's word ("officer-…")
    Wait("sign_off", _key(r"officer-approval-\d+"), _OFFICER, SignOff.REVIEW),
    Wait("identity_sign_off", _key(r"officer-identity-approval-\d+"), _OFFICER, SignOff.IDENTITY),
    Wait("provision", _key(r"officer-provision-\d+"), _OFFICER),
    Wait("contractor_approval", _key(r"officer-contractor-approval-\d+"), _OFFICER),
    Wait("deletion_certificate", _key(r"officer-deletion-certificate"), _OFFICER),
    Wait("policy_approval", _key(r"officer-policy-approval-\d+"), _OFFICER),
    Wait("incident_triage", _key(r"officer-incident-triage-\d+"), _OFFICER),
    Wait("incident_public_notice", _key(r"officer-incident-public-notice-\d+"), _OFFICER),
    Wait("incident_report_filed", _key(r"officer-incident-(?:preliminary|final)-filed-\d+"), _OFFICER),
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


def may_resume(
    role: AccountRole, name: str, pause_key: str, *, deciders: frozenset[str] = frozenset()
) -> Verdict:
    """May this account resume a run waiting on ``pause_key``? ``deciders`` are the people who
    made the decision a sign-off covers (four eyes).

    The service account wakes only the requester's waits (the requester acted, a deadline
    passed): every key that is not a person's form, so a requester's wait added later is
    woken too. A person answers only a form a rule names."""
    wait = wait_for(pause_key)
    if role is AccountRole.SERVICE:
        requesters = wait.requester if wait else not PERSON_WAIT.fullmatch(pause_key)
        if requesters:
            return Verdict(True)
        return Verdict(False, "the service account wakes the requester's waits; a person answers this form")
    if wait is None:
        return Verdict(False, f"no rule names the wait {pause_key!r}")
    if role not in wait.roles:
        needed = " or ".join(sorted(wait.roles))
        return Verdict(False, f"the wait {wait.kind!r} needs the role {needed}, not {role}")
    if wait.four_eyes and name in {person_of(d) for d in deciders}:
        return Verdict(False, f"four eyes: {name} made the decision this {wait.kind!r} signs off")
    return Verdict(True)


def may_view_documents(role: AccountRole) -> Verdict:
    """May this account open an agent's uploaded documents (the gate's viewer)? Those who judge
    them: an operator verifies, the officer signs off a refusal. An admin runs Prefect and the
    service wakes runs: neither reads identity documents."""
    if role in PEOPLE_WHO_DECIDE:
        return Verdict(True)
    return Verdict(False, f"documents are for an operator or the officer, not {role}")


def may_report_incident(role: AccountRole) -> Verdict:
    """May this account report a leak incident (``POST /desk/api/incidents``)? Those who work the
    desk: whoever learns of a leak reports it; the officer then confirms the triage."""
    if role in PEOPLE_WHO_DECIDE:
        return Verdict(True)
    return Verdict(False, f"incidents are reported by an operator or the officer, not {role}")


def may_enter_requests(role: AccountRole) -> Verdict:
    """May this account enter a request the help desk received by phone, post, at the counter
    or by email, and print and post its letters (issue 15)? Those who work the desk; the entry
    is audited with their name."""
    if role in PEOPLE_WHO_DECIDE:
        return Verdict(True)
    return Verdict(False, f"requests are entered by an operator or the officer, not {role}")


def may_read_register(role: AccountRole) -> Verdict:
    """May this account read the request register (開示等請求管理台帳, issue 15)? It is the
    privacy officer's record of the desk's work, names included when asked for."""
    if role is AccountRole.OFFICER:
        return Verdict(True)
    return Verdict(False, f"the request register is for the privacy officer, not {role}")


# --- API calls ---------------------------------------------------------------------------------
# Reads (GET, and the POSTs that only query) are open to every account. People may write only
# what their work needs; the service writes what workers, flows and `up` write, deletes only
# what they delete; an admin may do anything (but answers no form: see may_resume).

_QUERIES = re.compile(
    r"/ui/.+|/(?:.+/)?(?:filter|count|paginate|history|lateness|concurrency_status)"
    r"|/events/count-by/[^/]+"
)
_PEOPLE_WRITE = (
    ("POST", re.compile(r"/flow_runs/[^/]+/resume")),  # checked against the wait by may_resume
    ("POST", re.compile(r"/deployments/[^/]+/create_flow_run")),  # run a process by hand
    ("PUT", re.compile(r"/saved_searches")),  # the UI's saved filters
)
_SERVICE_DELETES = (
    ("DELETE", re.compile(r"/flow_runs/[^/]+/input/[^/]+")),  # a flow forgets an answer it stored
    ("DELETE", re.compile(r"/work_pools/[^/]+")),  # `up` replaces a pool of an older type
)
_DESTRUCTIVE = (
    ("DELETE", re.compile(r"/.*")),
    ("POST", re.compile(r"/.+/bulk_delete")),
    ("PUT", re.compile(r"/admin/.*")),
)


def _matches(rules, method: str, path: str) -> bool:
    return any(m == method and p.fullmatch(path) for m, p in rules)


def may_call(role: AccountRole, method: str, path: str) -> Verdict:
    """May this account make an API call? ``path`` is relative to ``/api``."""
    method, path = method.upper(), path.rstrip("/") or "/"  # Prefect redirects ``…/x/`` to ``…/x``
    if method in ("GET", "HEAD", "OPTIONS") or (method == "POST" and _QUERIES.fullmatch(path)):
        return Verdict(True)
    if role is AccountRole.ADMIN:
        return Verdict(True)
    if role is AccountRole.SERVICE:
        if _matches(_DESTRUCTIVE, method, path) and not _matches(_SERVICE_DELETES, method, path):
            return Verdict(False, f"{method} {path} is for an admin")
        return Verdict(True)
    if _matches(_PEOPLE_WRITE, method, path):
        return Verdict(True)
    return Verdict(False, f"{method} {path} is for an admin")


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
