"""One-time codes to the registered email, the online identity check of docs/rules.md §4.

A pure state machine: (state, event) → (new state, verdict). The state holds only an HMAC of
the code (keyed with the application's secret), never the code. Limits: a code lives 10
minutes and allows 3 attempts; a request gets at most 3 codes; then the check fails and the
request is refused with ``identity_not_verified``.

An attempt is counted before the comparison, and only on a live code (pending, unexpired,
fewer than ``MAX_ATTEMPTS`` counted). Answers can arrive at once, so the count is the
database's, one conditional update (services/identity.submit_code); counted from a state read
beforehand, six parallel answers were counted as one.
"""

import hmac
import secrets
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from hashlib import sha256

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 3
MAX_CODES = 3


class CodeStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    FAILED = "failed"


class Verdict(StrEnum):
    ISSUED = "issued"  # a new code was made: send it
    VERIFIED = "verified"
    WRONG = "wrong"  # try again with the same code
    EXPIRED = "expired"  # ask for a new code
    EXHAUSTED = "exhausted"  # this code has no attempts left: ask for a new code
    NO_CODE = "no_code"  # nothing issued yet
    REFUSED = "refused"  # no codes left: identity_not_verified
    ALREADY_VERIFIED = "already_verified"


@dataclass(frozen=True)
class CodeState:
    status: CodeStatus = CodeStatus.PENDING
    code_hash: str | None = None
    expires_at: datetime | None = None
    attempts: int = 0  # attempts counted on the current code
    codes_issued: int = 0


def generate_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def normalise_code(code: str) -> str:
    """NFKC, then trim: full-width digits typed with a Japanese input method (``１２３４５６``)
    and an ideographic space around them count as the plain code."""
    return unicodedata.normalize("NFKC", code).strip()


def hash_code(code: str, secret: bytes) -> str:
    """Keyed hash of the normalised code; used both when issuing and when checking."""
    return hmac.new(secret, normalise_code(code).encode(), sha256).hexdigest()


def issue_code(state: CodeState, code: str, *, now: datetime, secret: bytes) -> tuple[CodeState, Verdict]:
    """Replace the current code with ``code`` (from ``generate_code``), unless the limit is reached."""
    if state.status is CodeStatus.VERIFIED:
        return state, Verdict.ALREADY_VERIFIED
    if state.status is CodeStatus.FAILED or state.codes_issued >= MAX_CODES:
        return replace(state, status=CodeStatus.FAILED), Verdict.REFUSED
    return CodeState(
        code_hash=hash_code(code, secret),
        expires_at=now + CODE_TTL,
        attempts=0,
        codes_issued=state.codes_issued + 1,
    ), Verdict.ISSUED


def check_code(
    state: CodeState, submitted: str, *, counted: bool, now: datetime, secret: bytes
) -> tuple[CodeState, Verdict]:
    """Judge one answer. ``state`` is read after counting the attempt, ``counted`` says whether
    there was one to count. The comparison is in constant time; a dead code (expired, or its
    attempts counted for other answers) is not compared at all, and when it was the last code
    the request may get, the check fails for good."""
    if state.status is CodeStatus.VERIFIED:
        return state, Verdict.ALREADY_VERIFIED
    if state.status is CodeStatus.FAILED:
        return state, Verdict.REFUSED
    if state.code_hash is None or state.expires_at is None:
        return state, Verdict.NO_CODE
    last = state.codes_issued >= MAX_CODES
    if now >= state.expires_at:
        return (
            (replace(state, status=CodeStatus.FAILED), Verdict.REFUSED) if last else (state, Verdict.EXPIRED)
        )
    if not counted:  # the answer that took the last attempt decides what becomes of the check
        return state, Verdict.REFUSED if last else Verdict.EXHAUSTED
    if hmac.compare_digest(state.code_hash, hash_code(submitted, secret)):
        return replace(state, status=CodeStatus.VERIFIED, code_hash=None), Verdict.VERIFIED
    if state.attempts < MAX_ATTEMPTS:
        return state, Verdict.WRONG
    return (replace(state, status=CodeStatus.FAILED), Verdict.REFUSED) if last else (state, Verdict.EXHAUSTED)
