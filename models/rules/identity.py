"""Who may ask, and what proves it (Art. 37(1), (3); Cabinet Order Arts. 12–13; docs/rules.md §4).

Every requester's request must match a customer record (that is whose data it is about);
the principal then proves control of it by any one route of §4: a one-time code sent to the
registered email, a copy of an identity document with a reply by registered mail to the
address on it, or (the registered details being the record match) a call-back; an agent shows
their own identity and their authority (the power of attorney; the principal's seal
registration certificate is welcome but never demanded: no excessive burden). An operator reviews documents; these rules only say
what is still missing and when the check has failed.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from models.rules.deadlines import CLOSE_OF_BUSINESS, JST, is_business_day, jst_date, requester_deadline
from models.rules.vocabulary import ReasonCode as R
from models.rules.vocabulary import Role


class Evidence(StrEnum):
    RECORD_MATCH = "record_match"  # request details match the customer record
    ONE_TIME_CODE = "one_time_code"  # code to the registered email confirmed
    IDENTITY_DOCUMENT_COPY = "identity_document_copy"  # post: copy of the principal's ID
    REGISTERED_MAIL_REPLY = "registered_mail_reply"  # post: reply by registered mail to the address on it
    PHONE_CALLBACK = "phone_callback"  # phone: call-back to the registered number answered
    AGENT_IDENTITY_DOCUMENT = "agent_identity_document"  # the agent's own ID (licence, My Number card…)
    FAMILY_REGISTER_OR_RESIDENT_RECORD = "family_register_or_resident_record"  # parent of a minor
    GUARDIANSHIP_REGISTRY_CERTIFICATE = "guardianship_registry_certificate"  # adult guardian (登記事項証明書)
    POWER_OF_ATTORNEY = "power_of_attorney"  # 委任状
    SEAL_REGISTRATION_CERTIFICATE = "seal_registration_certificate"  # principal's 印鑑登録証明書 (optional)


@dataclass(frozen=True)
class Requirement:
    """One thing to prove, satisfied by any one of ``any_of`` or by all pieces of any one of
    ``routes`` (alternatives that need several pieces together); failing it gives ``reason``."""

    key: str
    any_of: frozenset[Evidence]
    reason: R
    routes: frozenset[frozenset[Evidence]] = frozenset()

    @property
    def alternatives(self) -> tuple[frozenset[Evidence], ...]:
        """Every way to meet the requirement, each a set of evidence needed together."""
        return tuple(frozenset({e}) for e in sorted(self.any_of)) + tuple(self.routes)

    def met_by(self, accepted: frozenset[Evidence]) -> bool:
        return any(alt <= accepted for alt in self.alternatives)

    def impossible(self, rejected: frozenset[Evidence]) -> bool:
        """Every alternative has a piece that was rejected."""
        return all(alt & rejected for alt in self.alternatives)


_MATCH = Requirement("principal_record", frozenset({Evidence.RECORD_MATCH}), R.IDENTITY_NOT_VERIFIED)
_AGENT_ID = Requirement(
    "agent_identity", frozenset({Evidence.AGENT_IDENTITY_DOCUMENT}), R.IDENTITY_NOT_VERIFIED
)

REQUIREMENTS: dict[Role, tuple[Requirement, ...]] = {
    # docs/rules.md §4 (Order Art. 12 practice): online, a one-time code to the registered email;
    # by post, a copy of an identity document and a reply by registered mail to the address on
    # it; by phone, the registered details (the record match) and a call-back
    Role.PRINCIPAL: (
        _MATCH,
        Requirement(
            "principal_identity",
            frozenset({Evidence.ONE_TIME_CODE, Evidence.PHONE_CALLBACK}),
            R.IDENTITY_NOT_VERIFIED,
            routes=frozenset({frozenset({Evidence.IDENTITY_DOCUMENT_COPY, Evidence.REGISTERED_MAIL_REPLY})}),
        ),
    ),
    # Order Art. 13(i): the legal representative of a minor or an adult ward
    Role.LEGAL_REPRESENTATIVE: (
        _MATCH,
        _AGENT_ID,
        Requirement(
            "legal_representation",
            frozenset(
                {Evidence.FAMILY_REGISTER_OR_RESIDENT_RECORD, Evidence.GUARDIANSHIP_REGISTRY_CERTIFICATE}
            ),
            R.AGENT_AUTHORITY_NOT_SHOWN,
        ),
    ),
    # Order Art. 13(ii): an agent the principal appointed. The power of attorney is required;
    # the seal registration certificate that "commonly" goes with it is not demanded (§4: no
    # excessive burden), though an operator may accept one as supporting evidence
    Role.APPOINTED_AGENT: (
        _MATCH,
        _AGENT_ID,
        Requirement(
            "power_of_attorney", frozenset({Evidence.POWER_OF_ATTORNEY}), R.AGENT_AUTHORITY_NOT_SHOWN
        ),
    ),
}


class DocumentKind(StrEnum):
    """What a requester says an uploaded file is; an operator judges whether it shows it."""

    IDENTITY_DOCUMENT = "identity_document"  # the principal's own, for the postal route
    AGENT_IDENTITY_DOCUMENT = "agent_identity_document"
    POWER_OF_ATTORNEY = "power_of_attorney"
    LEGAL_REPRESENTATION = "legal_representation"  # family register, resident record or guardianship


SHOWS: dict[DocumentKind, frozenset[Evidence]] = {
    DocumentKind.IDENTITY_DOCUMENT: frozenset({Evidence.IDENTITY_DOCUMENT_COPY}),
    DocumentKind.AGENT_IDENTITY_DOCUMENT: frozenset({Evidence.AGENT_IDENTITY_DOCUMENT}),
    DocumentKind.POWER_OF_ATTORNEY: frozenset({Evidence.POWER_OF_ATTORNEY}),
    DocumentKind.LEGAL_REPRESENTATION: frozenset(
        {Evidence.FAMILY_REGISTER_OR_RESIDENT_RECORD, Evidence.GUARDIANSHIP_REGISTRY_CERTIFICATE}
    ),
}


def missing_documents(role: Role, uploaded: Iterable[str]) -> tuple[Requirement, ...]:
    """The requirements of ``role`` that one document can meet and no uploaded kind could: an
    agent's own identity and their authority. Until none is left an operator has nothing to
    judge, and nobody may verify the agent. A principal has none: the code, post or phone
    prove them (the postal route's copy goes with a registered-mail reply)."""
    shown = frozenset().union(*(SHOWS[DocumentKind(kind)] for kind in uploaded))
    return tuple(r for r in REQUIREMENTS[Role(role)] if document_kinds(r) and not r.any_of & shown)


def document_kinds(requirement: Requirement) -> tuple[DocumentKind, ...]:
    """The kinds of document that can meet ``requirement`` on their own."""
    return tuple(kind for kind, shows in SHOWS.items() if shows & requirement.any_of)


class IdentityStatus(StrEnum):
    VERIFIED = "verified"
    MISSING = "missing"
    REFUSED = "refused"


@dataclass(frozen=True)
class IdentityVerdict:
    status: IdentityStatus
    missing: tuple[Requirement, ...] = ()
    reason: R | None = None


def assess_identity(
    role: Role,
    accepted: Iterable[Evidence],
    rejected: Iterable[Evidence] = (),
    *,
    deadline_passed: bool = False,
) -> IdentityVerdict:
    """Verified when every requirement of the role is met by accepted evidence. Refused when a
    requirement can no longer be met (every alternative has a rejected piece), or when something
    is still missing after the documents deadline; otherwise, what is missing.
    The first failing requirement decides the reason, so the principal's own identity comes first."""
    accepted, rejected = frozenset(accepted), frozenset(rejected)
    missing = [r for r in REQUIREMENTS[Role(role)] if not r.met_by(accepted)]
    for requirement in missing:
        if requirement.impossible(rejected):
            return IdentityVerdict(IdentityStatus.REFUSED, tuple(missing), requirement.reason)
    if not missing:
        return IdentityVerdict(IdentityStatus.VERIFIED)
    if deadline_passed:
        return IdentityVerdict(IdentityStatus.REFUSED, tuple(missing), missing[0].reason)
    return IdentityVerdict(IdentityStatus.MISSING, tuple(missing))


# --- matching the request against the customer record ----------------------------------------


@dataclass(frozen=True)
class Contact:
    """The principal's details, as given in the request or as held in the customer record."""

    email: str | None = None
    login_id: str | None = None
    phone: str | None = None
    company: str | None = None


SECONDARY_FIELDS = ("login_id", "phone", "company")


@dataclass(frozen=True)
class MatchResult:
    matched: bool
    matched_fields: tuple[str, ...]
    mismatched_fields: tuple[str, ...]


def _norm_company(value: str) -> str:
    text = "".join(unicodedata.normalize("NFKC", value).split()).casefold()
    for short, full in (("(株)", "株式会社"), ("(有)", "有限会社"), ("(同)", "合同会社")):
        text = text.replace(short, full)
    return text


def _norm_phone(value: str) -> str:
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", value))
    return "0" + digits[2:] if value.strip().startswith("+81") else digits


_NORMALISERS = {
    "email": lambda v: unicodedata.normalize("NFKC", v).strip().casefold(),
    "login_id": lambda v: "".join(unicodedata.normalize("NFKC", v).split()).upper(),
    "phone": _norm_phone,
    "company": _norm_company,
}


def match_principal(given: Contact, record: Contact) -> MatchResult:
    """The email must match the registered one (the one-time code goes there), and so must at
    least one of login ID, phone and company — among those the record holds and the requester
    gave. When the record holds none of them, the email alone is enough: we ask for no more
    than we hold (docs/rules.md §4). A differing secondary field is reported but does not by itself
    fail the match: people change phones, and a correction request may be about exactly that.
    Names are not compared (spelling and spacing vary; the code proves control of the email)."""
    matched: list[str] = []
    mismatched: list[str] = []
    for name, normalise in _NORMALISERS.items():
        ours, theirs = getattr(record, name), getattr(given, name)
        if not ours or not theirs:
            continue
        (matched if normalise(ours) == normalise(theirs) else mismatched).append(name)
    held_secondary = [f for f in SECONDARY_FIELDS if getattr(record, f)]
    ok = "email" in matched and (not held_secondary or any(f in matched for f in SECONDARY_FIELDS))
    return MatchResult(ok, tuple(matched), tuple(mismatched))


# --- the routes (docs/rules.md §4) -------------------------------------------------------------


class Route(StrEnum):
    """How one identity check goes (``identity_check.method``)."""

    CODE = "one_time_code"  # online: a code to the registered email
    DOCUMENTS = "documents"  # an agent's documents, judged by an operator
    POST = "post"  # a copy of an identity document by post; the answer by registered mail
    PHONE = "phone"  # the registered details, then a call back to the registered number
    RECORD_MATCH = "record_match"  # the request did not match the customer record


POSTAL_DOCUMENT_DAYS = 14  # to receive the copy: the requester posts it, as long as any requester wait
CALLBACK_BUSINESS_DAYS = 3  # to reach the requester on the registered number: our own work

ROUTE_REASONS = {Route.POST: R.POSTAL_IDENTITY_NOT_VERIFIED, Route.PHONE: R.PHONE_IDENTITY_NOT_VERIFIED}


def route_for(role: Role, channel: str) -> Route:
    """The route follows how the request came: an agent shows documents whatever the channel;
    a principal who wrote proves it by post, one who called by phone, anyone else by the code."""
    if Role(role) is not Role.PRINCIPAL:
        return Route.DOCUMENTS
    return {"post": Route.POST, "phone": Route.PHONE}.get(channel, Route.CODE)


def _business_days_after(day: date, days: int) -> date:
    while days:
        day += timedelta(days=1)
        days -= is_business_day(day)
    return day


def route_deadline(route: Route, started_at: datetime) -> datetime:
    """When the route's check must be done. Post: the copy must arrive by the end of the 14th
    day (the next business day when that is not one), like every wait on the requester. Phone:
    the call back must be made by 18:00 JST on the 3rd business day after the check started."""
    if route is Route.POST:
        return requester_deadline(started_at, POSTAL_DOCUMENT_DAYS)
    if route is Route.PHONE:
        last_day = _business_days_after(jst_date(started_at), CALLBACK_BUSINESS_DAYS)
        return datetime.combine(last_day, CLOSE_OF_BUSINESS, JST)
    raise ValueError(f"{route} has no deadline of its own")


class PostalCheck(StrEnum):
    """The operator's word on the posted copy (the answer then goes by registered mail)."""

    VERIFIED = "verified"  # it shows the principal; the name and address match the request
    NOT_SHOWN = "not_shown"  # it does not show them, or not at the request's address


class Callback(StrEnum):
    """How the call back to the registered number went."""

    CONFIRMED = "confirmed"  # reached on the registered number; the details match
    NOT_REACHED = "not_reached"  # nobody answered: call again until the deadline
    DETAILS_MISMATCH = "details_mismatch"  # answered, but the registered details did not match


def route_verdict(
    route: Route, answer: PostalCheck | Callback | None, *, deadline_passed: bool
) -> IdentityVerdict:
    """The principal's identity by post or phone: verified on a good copy or a confirmed call;
    refused with the route's own code on a bad copy or a mismatch, or when nothing good came by
    the deadline; otherwise still open (no copy yet, a call not answered)."""
    reason = ROUTE_REASONS[route]
    if answer in (PostalCheck.VERIFIED, Callback.CONFIRMED):
        return IdentityVerdict(IdentityStatus.VERIFIED)
    if answer in (PostalCheck.NOT_SHOWN, Callback.DETAILS_MISMATCH) or deadline_passed:
        return IdentityVerdict(IdentityStatus.REFUSED, reason=reason)
    return IdentityVerdict(IdentityStatus.MISSING)
