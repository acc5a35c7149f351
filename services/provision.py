"""Third-party provision (docs/product.md §4, docs/rules.md §5): a third party's request for someone's
personal data (a written police inquiry, a court, a tax office, a business partner) is entered
by an operator, checked against the statutory grounds (``models.rules.provision``), decided by
the privacy officer, and every provision made is written to the provision record.

The record: Art. 29 requires one for consent-based provision and for recipients abroad; those
are what a principal may see (Art. 33(5), ``is_disclosable_record``). Provisions under an
Art. 27(1) exception (e.g. a police inquiry) are recorded too, as the company's own account
of what went to whom, and are never disclosed. All are kept three years (Rules Art. 21)."""

from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlmodel import Session, col, select

from models.db import row_id, unit_of_work, utcnow
from models.ledgers import ConsentEvent, ProvisionRecord, ProvisionReview
from models.requests import new_reference
from models.rules.deadlines import JST, jst_date
from models.rules.provision import (
    ProvisionRequest,
    assess_provision,
    record_retention_until,
)
from models.rules.vocabulary import ProvisionBasis
from models.settings import Settings
from services.common import NotFound, audit, load_by_reference, remember_run
from systems.identity import normalise_email

CONSENT_PURPOSE = "third_party_provision"  # ConsentEvent.purpose of a consent to provision
RECEIVED, REVIEW, PROVIDED, REFUSED = "received", "review", "provided", "refused"
FINAL = frozenset({PROVIDED, REFUSED})
FACTS = (
    "consent_hard_to_get",
    "asking_would_obstruct",
    "within_entrusted_purpose",
    "joint_use_announced",
    "consent_with_regime_info",
    "country_designated_or_equivalent_system",
)


class ThirdPartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["police", "court", "tax_office", "bar_association", "business_partner", "other"]
    name: str = Field(min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    foreign: bool = False


class SubjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr
    name: str | None = Field(default=None, max_length=200)


class ProvisionRequestCreate(BaseModel):
    """What an operator enters (``madoguchi provision request FILE.json``). The facts are the
    operator's findings; ``document_ref`` is the written request (照会書) a basis may need."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    third_party: ThirdPartyIn
    subject: SubjectIn
    items: list[str] = Field(min_length=1, max_length=50)
    basis: ProvisionBasis
    document_ref: str | None = Field(default=None, max_length=200)
    consent_hard_to_get: bool = False
    asking_would_obstruct: bool = False
    within_entrusted_purpose: bool = False
    joint_use_announced: bool = False
    consent_with_regime_info: bool = False
    country_designated_or_equivalent_system: bool = False


class ReviewNotFound(NotFound):
    """No provision review has that reference."""


class DecisionInvalid(ValueError):
    """A provision the statutory grounds do not allow: it can only be refused."""


def load_review(session: Session, reference: str) -> ProvisionReview:
    return load_by_reference(session, ProvisionReview, reference, ReviewNotFound)


def enter(
    session: Session,
    settings: Settings,
    data: ProvisionRequestCreate,
    *,
    now: datetime,
    actor: str = "operator",
) -> str:
    """Persist a third party's request; its reference (``P-YYMMDD-XXXXXX``). The dispatcher
    gives it its review flow run."""
    review = ProvisionReview(
        reference="P-" + new_reference(now).removeprefix("R-"),
        requester_kind=data.third_party.kind,
        recipient=data.third_party.name,
        recipient_address=data.third_party.address,
        basis=str(data.basis),
        document_ref=data.document_ref or None,
        facts={"foreign_recipient": data.third_party.foreign, **{f: getattr(data, f) for f in FACTS}},
        subject_email=normalise_email(str(data.subject.email)),
        subject_name=data.subject.name,
        items=list(data.items),
        status=RECEIVED,
        received_at=now,
    )
    session.add(review)
    audit(
        session,
        settings,
        actor=actor,
        action="provision.received",
        reference=review.reference,
        now=now,
        requester_kind=review.requester_kind,
        basis=review.basis,
        items=len(review.items),
        written_request=review.document_ref is not None,
        foreign=data.third_party.foreign,
    )
    return review.reference


def record_consent(
    session: Session,
    settings: Settings,
    email: str,
    *,
    source: str,
    now: datetime,
    event: Literal["consented", "withdrawn"] = "consented",
    actor: str = "operator",
) -> int:
    """The principal's consent to third-party provision (or its withdrawal) in the consent
    ledger; the event's id."""
    row = ConsentEvent(
        email=normalise_email(email), purpose=CONSENT_PURPOSE, event=event, source=source, at=now
    )
    session.add(row)
    session.flush()
    audit(
        session,
        settings,
        actor=actor,
        action=f"provision.consent.{event}",
        reference=f"consent-{row.id}",
        now=now,
    )
    return row_id(row)


def consent_on_record(session: Session, email: str) -> ConsentEvent | None:
    """The subject's standing consent to provision: the latest such event, if it is a consent."""
    latest = session.exec(
        select(ConsentEvent)
        .where(ConsentEvent.email == normalise_email(email), ConsentEvent.purpose == CONSENT_PURPOSE)
        .order_by(col(ConsentEvent.at).desc(), col(ConsentEvent.id).desc())
    ).first()
    return latest if latest is not None and latest.event == "consented" else None


def assess(session: Session, review: ProvisionReview) -> dict:
    """The statutory check on today's facts (consent is read from the ledger each time)."""
    consent = consent_on_record(session, review.subject_email)
    decision = assess_provision(
        ProvisionRequest(
            basis=ProvisionBasis(review.basis),
            consent_on_record=consent is not None,
            written_request=review.document_ref is not None,
            **review.facts,
        )
    )
    return {
        "allowed": decision.allowed,
        "article": decision.article,
        "problems": [str(p) for p in decision.problems],
        "third_party_provision": decision.third_party_provision,
        "record_required": decision.record_required,
        "record_items": [str(i) for i in decision.record_items],
        "proposed": "provide" if decision.allowed else "refuse",
        "consent_ref": f"consent_event:{consent.id}" if consent else None,
    }


def propose(session: Session, settings: Settings, reference: str, *, now: datetime) -> dict:
    """Write the pre-screen's proposal and put the review in ``review`` (audited when the
    proposal changes: a replayed run writes nothing twice)."""
    review = load_review(session, reference)
    proposal = assess(session, review)
    if review.proposal != proposal or review.status == RECEIVED:
        review.proposal, review.status = proposal, REVIEW
        session.add(review)
        audit(
            session,
            settings,
            actor="system",
            action="provision.proposed",
            reference=reference,
            now=now,
            proposed=proposal["proposed"],
            article=proposal["article"],
            problems=proposal["problems"],
        )
    return proposal


def decide(
    session: Session,
    settings: Settings,
    reference: str,
    *,
    provide: bool,
    actor: str,
    now: datetime,
    note: str = "",
) -> str:
    """The privacy officer's decision; a provision writes its record. The final status."""
    review = load_review(session, reference)
    if review.status in FINAL:
        return review.status
    proposal = assess(session, review)
    if provide and not proposal["allowed"]:
        raise DecisionInvalid(f"{reference}: no statutory ground ({', '.join(proposal['problems'])})")
    review.proposal, review.status = proposal, PROVIDED if provide else REFUSED
    review.decided_by, review.decided_at, review.note = actor, now, note.strip() or None
    review.consent_ref = proposal["consent_ref"]
    session.add(review)
    record_id = _write_record(session, review, now) if provide else None
    audit(
        session,
        settings,
        actor=actor,
        action=f"provision.{review.status}",
        reference=reference,
        now=now,
        basis=review.basis,
        article=proposal["article"],
        problems=proposal["problems"],
        record_id=record_id,
        disclosable_record=proposal["record_required"],
    )
    return review.status


def _write_record(session: Session, review: ProvisionReview, now: datetime) -> int:
    """The provision record (Rules Art. 20 items: consent, recipient, principal, data items),
    kept three years; once per review."""
    existing = session.exec(
        select(ProvisionRecord).where(ProvisionRecord.source_ref == review.reference)
    ).first()
    if existing is not None:
        return row_id(existing)
    keep_until = datetime.combine(record_retention_until(jst_date(now)), time(12), JST)
    record = ProvisionRecord(
        subject_email=review.subject_email,
        subject_name=review.subject_name,
        recipient=review.recipient,
        recipient_address=review.recipient_address,
        items=list(review.items),
        basis=review.basis,
        consent_ref=review.consent_ref,
        is_foreign=bool(review.facts.get("foreign_recipient")),
        provided_at=now,
        keep_until=keep_until,
        source_ref=review.reference,
    )
    session.add(record)
    session.flush()
    return row_id(record)


# --- the review's run (flows/provision.py): each step its own transaction ----------------------


@dataclass(frozen=True)
class ReviewRun:
    """Where a review's run starts: decided (a final status), or the pre-screen's proposal
    (``provide`` or ``refuse``, what autopilot takes) and the officer's view of it."""

    status: str
    proposed: str = ""
    markdown: str = ""


def start_run(settings: Settings, reference: str, flow_run_id: str) -> ReviewRun:
    """Note the run that carries the review (the command line answers it through this id);
    an undecided review is proposed on today's facts."""
    with unit_of_work(settings) as session:
        review = load_review(session, reference)
        remember_run(session, review, flow_run_id)
        if review.status in FINAL:
            return ReviewRun(review.status)
        proposal = propose(session, settings, reference, now=utcnow())
        return ReviewRun(review.status, proposal["proposed"], summary_markdown(review, proposal))


def officer_decided(settings: Settings, reference: str, *, provide: bool, actor: str, note: str) -> str:
    """:func:`decide` on the officer's answer; :class:`DecisionInvalid` when no ground allows
    the provision."""
    with unit_of_work(settings) as session:
        return decide(session, settings, reference, provide=provide, actor=actor, note=note, now=utcnow())


def propose_again(settings: Settings, reference: str) -> str:
    """After a provision without ground: the proposal on today's facts (consent may have been
    withdrawn since the run's first), ``provide`` or ``refuse``."""
    with unit_of_work(settings) as session:
        return propose(session, settings, reference, now=utcnow())["proposed"]


KIND_JA = {
    "police": "警察",
    "court": "裁判所",
    "tax_office": "税務署",
    "bar_association": "弁護士会",
    "business_partner": "取引先",
    "other": "その他",
}
BASIS_JA = {
    "consent": "本人の同意",
    "law": "法令に基づく場合",
    "warrant": "令状（差押え等）",
    "police_written_inquiry": "捜査関係事項照会（刑事訴訟法第197条第2項）",
    "tax_investigation": "税務調査",
    "bar_association_inquiry": "弁護士会照会（弁護士法第23条の2）",
    "life_body_property": "人の生命・身体・財産の保護",
    "public_health_children": "公衆衛生・児童の健全育成",
    "state_cooperation": "国の機関等への協力",
    "academic_research": "学術研究",
    "outsourcing": "業務委託",
    "business_succession": "事業承継",
    "joint_use": "共同利用",
}
PROBLEM_JA = {
    "no_consent": "本人の同意の記録がありません",
    "no_written_request": "書面による照会（照会書・令状）がありません",
    "consent_not_hard_to_get": "本人の同意を得ることが困難とはいえません",
    "asking_would_obstruct_state_duty": "同意を求めても事務の遂行に支障がありません",
    "outside_entrusted_purpose": "委託された業務の範囲外です",
    "joint_use_not_announced": "共同利用が公表されていません",
    "foreign_recipient_without_regime_consent": "外国の制度の情報を提供したうえでの同意がありません",
}


def summary_markdown(review: ProvisionReview, proposal: dict) -> str:
    """What the waiting run shows the privacy officer: the legal check, with no one's name
    or address (``madoguchi provision show`` prints those from the app database)."""
    problems = "\n".join(f"- {PROBLEM_JA.get(p, p)}" for p in proposal["problems"]) or "- なし"
    return (
        f"### 第三者提供の審査 {review.reference}\n\n"
        f"| 項目 | 内容 |\n|---|---|\n"
        f"| 照会元の種別 | {KIND_JA.get(review.requester_kind, review.requester_kind)} |\n"
        f"| 根拠 | {BASIS_JA.get(review.basis, review.basis)}（{proposal['article']}） |\n"
        f"| 書面による照会 | {'あり' if review.document_ref else 'なし'} |\n"
        f"| 外国の提供先 | {'はい' if review.facts.get('foreign_recipient') else 'いいえ'} |\n"
        f"| 提供を求められた項目 | {', '.join(review.items)} |\n"
        f"| 提供記録の作成義務（開示対象） | {'あり' if proposal['record_required'] else 'なし（社内記録のみ）'} |\n"
        f"| 事前審査の提案 | **{'提供する' if proposal['proposed'] == 'provide' else '提供しない'}** |\n\n"
        f"問題点:\n{problems}\n\n"
        f"法令上の根拠がない提供はできません（提供を選んでも受け付けられません）。照会元・本人の詳細は "
        f"`madoguchi provision show {review.reference}` で確認してください。"
    )
