"""Inquiries and complaints (policy §8): the form opens a ticket, an operator answers it, the
answer goes out by email. The ticket and the answer live here, in the app database; the
inquiry flow run carries the reference only."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlmodel import Session

from mail.outbox import enqueue
from models.db import unit_of_work, utcnow
from models.ledgers import Inquiry
from models.requests import new_reference
from models.rules.deadlines import jst_date
from models.settings import Settings
from services.common import NotFound, audit, load_by_reference, remember_run

OPEN, ANSWERED = "open", "answered"
BODY_MAX = 4000


class InquiryCreate(BaseModel):
    """The public input of ``POST /api/inquiries``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["inquiry", "complaint"] = "inquiry"
    language: Literal["ja", "en"] = "ja"
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    body: str = Field(min_length=1, max_length=BODY_MAX)
    request_reference: str | None = Field(default=None, pattern=r"^R-\d{6}-[A-Z0-9]{6}$")


class InquiryNotFound(NotFound):
    """No inquiry has that reference (the message carries the reference only)."""


def new_inquiry_reference(now: datetime) -> str:
    """``Q-YYMMDD-XXXXXX``: the request references' scheme under its own letter."""
    return "Q-" + new_reference(now).removeprefix("R-")


def load_inquiry(session: Session, reference: str) -> Inquiry:
    return load_by_reference(session, Inquiry, reference, InquiryNotFound)


def open_inquiry(
    session: Session, settings: Settings, data: InquiryCreate, *, now: datetime, channel: str = "web"
) -> str:
    """Persist the ticket and its acknowledgement in the caller's transaction; its reference.
    The dispatcher then gives it its flow run."""
    inquiry = Inquiry(
        reference=new_inquiry_reference(now),
        kind=data.kind,
        language=data.language,
        name=data.name,
        email=str(data.email),
        body=data.body,
        status=OPEN,
        request_reference=data.request_reference,
        created_at=now,
        details={"channel": channel},
    )
    session.add(inquiry)
    session.flush()
    enqueue(
        session,
        kind="inquiry_acknowledgement",
        language=inquiry.language,
        recipient_email=inquiry.email,
        idempotency_key=f"{inquiry.reference}:inquiry_acknowledgement",
        now=now,
        context={
            "reference": inquiry.reference,
            "kind": inquiry.kind,
            "received_at": jst_date(now).isoformat(),
        },
    )
    audit(
        session,
        settings,
        actor=f"requester:{channel}",
        action="inquiry.received",
        reference=inquiry.reference,
        now=now,
        kind=inquiry.kind,
        language=inquiry.language,
        request_reference=inquiry.request_reference,
    )
    return inquiry.reference


def answer_inquiry(
    session: Session, settings: Settings, reference: str, text: str, *, actor: str, now: datetime
) -> bool:
    """Store the answer and write its email (once); False when the ticket was answered before."""
    text = text.strip()
    if not text:
        raise ValueError("an answer needs text")
    inquiry = load_inquiry(session, reference)
    if inquiry.status != OPEN:
        return False
    inquiry.answer, inquiry.answered_by, inquiry.answered_at = text, actor, now
    inquiry.status = ANSWERED
    session.add(inquiry)
    enqueue(
        session,
        kind="inquiry_answer",
        language=inquiry.language,
        recipient_email=inquiry.email,
        idempotency_key=f"{reference}:inquiry_answer",
        now=now,
        context={
            "reference": reference,
            "kind": inquiry.kind,
            "answer": text,
            "received_at": jst_date(inquiry.created_at).isoformat(),
        },
    )
    audit(
        session,
        settings,
        actor=actor,
        action="inquiry.answered",
        reference=reference,
        now=now,
        kind=inquiry.kind,
    )
    return True


# --- the inquiry's run (flows/inquiries.py): each step its own transaction ----------------------


@dataclass(frozen=True)
class InquiryRun:
    status: str  # open: the operator's answer is awaited
    markdown: str  # what the operator's form shows


def start_run(settings: Settings, reference: str, flow_run_id: str) -> InquiryRun:
    """Note the run that carries the inquiry: the command line wakes it through this id."""
    with unit_of_work(settings) as session:
        inquiry = load_inquiry(session, reference)
        remember_run(session, inquiry, flow_run_id)
        return InquiryRun(inquiry.status, summary_markdown(inquiry))


def status(settings: Settings, reference: str) -> str:
    """Open until answered, on the run's form or from the command line."""
    with unit_of_work(settings) as session:
        return load_inquiry(session, reference).status


def answered(settings: Settings, reference: str, text: str, *, actor: str) -> None:
    """:func:`answer_inquiry` on the answer given on the run's form."""
    with unit_of_work(settings) as session:
        answer_inquiry(session, settings, reference, text, actor=actor, now=utcnow())


def summary_markdown(inquiry: Inquiry) -> str:
    """What the waiting run shows the operator: no name, address or inquiry text (those stay
    in the app database; ``madoguchi inquiry show`` prints them)."""
    kind = "苦情" if inquiry.kind == "complaint" else "お問い合わせ"
    related = f"、関連する請求 {inquiry.request_reference}" if inquiry.request_reference else ""
    return (
        f"**{inquiry.reference}**（{kind}、{'日本語' if inquiry.language == 'ja' else '英語'}"
        f"、受付 {jst_date(inquiry.created_at).isoformat()}{related}）に回答してください。\n\n"
        f"内容は `madoguchi inquiry show {inquiry.reference}` で確認できます（個人情報は Prefect に表示しません）。"
        f"回答文はお客様へメールで送られ、アプリのデータベースに保存されます。"
    )
