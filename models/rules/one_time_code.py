"""One-time codes to the registered email, the online identity check of RULES.md §4.

A pure state machine: (state, event) → (new state, verdict). The state holds only an HMAC of
the code (keyed with the application's secret), never the code. Limits: a code lives 10
minutes and allows 3 attempts; a request gets at most 3 codes; then the check fails and the
request is refused with ``identity_not_verified``.
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
    ISSUED = "issued"            # a new code was made: send it
    VERIFIED = "verified"
    WRONG = "wrong"              # try again with the same code
    EXPIRED = "expired"          # ask for a new code
    EXHAUSTED = "exhausted"      # this code has no attempts left: ask for a new code
    NO_CODE = "no_code"          # nothing issued yet
    REFUSED = "refused"          # no codes left: identity_not_verified
    ALREADY_VERIFIED = "already_verified"


@dataclass(frozen=True)
class CodeState:
    status: CodeStatus = CodeStatus.PENDING
    code_hash: str | None = None
    expires_at: datetime | None = None
    attempts: int = 0          # failed attempts on the current code
    codes_issued: int = 0


def generate_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def normalise_code(code: str) -> str:
    """NFKC, then trim: full-width digits typed with a Japanese input method (``１２３４５６``)
    and an ideographic space around them count as the plain code."""
    return unicodedata.normalize("NFKC", code).strip()


def hash_code(code: str, secret: bytes) -> str:
    """Keyed hash of the normalised code; used both when issuing and when checking."""
    return hmac.new(secret, normalise_code(code).encode(), sha256).hexdigest()


def _spent(state: CodeState, now: datetime) -> bool:
    return state.code_hash is None or now >= state.expires_at or state.attempts >= MAX_ATTEMPTS


def issue_code(state: CodeState, code: str, *, now: datetime, secret: bytes) -> tuple[CodeState, Verdict]:
    """Replace the current code with ``code`` (from ``generate_code``), unless the limit is reached."""
    if state.status is CodeStatus.VERIFIED:
        return state, Verdict.ALREADY_VERIFIED
    if state.status is CodeStatus.FAILED or state.codes_issued >= MAX_CODES:
        return replace(state, status=CodeStatus.FAILED), Verdict.REFUSED
    return CodeState(code_hash=hash_code(code, secret), expires_at=now + CODE_TTL, attempts=0,
                     codes_issued=state.codes_issued + 1), Verdict.ISSUED


def check_code(state: CodeState, submitted: str, *, now: datetime, secret: bytes) -> tuple[CodeState, Verdict]:
    """Compare in constant time. A dead code (expired or out of attempts) is not compared at
    all; when it was the last code the request may get, the check fails for good."""
    if state.status is CodeStatus.VERIFIED:
        return state, Verdict.ALREADY_VERIFIED
    if state.status is CodeStatus.FAILED:
        return state, Verdict.REFUSED
    if state.code_hash is None:
        return state, Verdict.NO_CODE
    if _spent(state, now):
        if state.codes_issued >= MAX_CODES:
            return replace(state, status=CodeStatus.FAILED), Verdict.REFUSED
        return state, Verdict.EXPIRED if now >= state.expires_at else Verdict.EXHAUSTED
    if hmac.compare_digest(state.code_hash, hash_code(submitted, secret)):
        return replace(state, status=CodeStatus.VERIFIED, code_hash=None), Verdict.VERIFIED
    state = replace(state, attempts=state.attempts + 1)
    if state.attempts < MAX_ATTEMPTS:
        return state, Verdict.WRONG
    if state.codes_issued >= MAX_CODES:
        return replace(state, status=CodeStatus.FAILED), Verdict.REFUSED
    return state, Verdict.EXHAUSTED
