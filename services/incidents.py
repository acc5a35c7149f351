"""Leak incidents (Art. 26; docs/rules.md §6, docs/product.md): an operator reports what
happened, the rules triage it, the privacy officer confirms, the affected customers are told
through the outbox and the PPC reports are drafted and marked filed. One transaction each, no
Prefect: the incident-response flow run (flows/incidents.py) carries the reference only.

An affected subject is a customer id of the customer master; the email is read from there
only to write the notice, so the incident copies no personal data."""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator
from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from disclosure.pdf import render_items_pdf
from mail.outbox import enqueue
from models.db import row_id, unit_of_work, utcnow
from models.fulfilment import Notice
from models.incidents import Incident, IncidentSubject
from models.requests import new_reference
from models.rules.deadlines import jst_date
from models.rules.leaks import (
    REPORT_NAMES,
    LeakAssessment,
    LeakFacts,
    NoticeMethod,
    Triage,
    assess_leak,
    confirm_triage,
)
from models.settings import Settings
from services.common import NotFound, audit, load_by_reference, remember_run
from services.identity import CUSTOMER_MASTER
from systems.identity import normalise_email
from systems.registry import Registry

REPORTED, CONFIRMED, CLOSED = "reported", "confirmed", "closed"  # awaiting the officer, in hand, done
REPORTS = ("preliminary", "final")
NOTICE_KIND = "leak_notice"
NOTICE_BATCH = 200  # notices written per transaction: a kill loses at most one uncommitted batch
LOOKUP_CHUNK = 500  # customer ids per query of the customer master


class AffectedCustomer(BaseModel):
    """One affected customer, by the customer master's id or the email it holds."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: str | None = Field(default=None, min_length=1, max_length=16)
    email: EmailStr | None = None
    language: Literal["ja", "en"] = "ja"

    @model_validator(mode="after")
    def _one_key(self):
        if (self.customer_id is None) == (self.email is None):
            raise ValueError("give either customer_id or email")
        return self


class IncidentReport(BaseModel):
    """The input of ``madoguchi incident report FILE`` and ``POST /api/incidents``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    discovered_on: date
    systems: list[str] = Field(min_length=1)
    data_items: list[str] = Field(min_length=1)
    cause: str = Field(min_length=1, max_length=2000)
    encrypted: bool = False
    improper_purpose: bool = False
    sensitive_data: bool = False
    financial_loss_risk: bool = False
    # more than the listed customers when the extent is only estimated
    affected_people: int | None = Field(default=None, ge=0)
    affected: list[AffectedCustomer] = []

    @model_validator(mode="after")
    def _people_counted(self):
        if self.affected_people is not None and self.affected_people < len(self.affected):
            raise ValueError("affected_people is fewer than the customers listed")
        return self


class IncidentRejected(ValueError):
    """Input the report cannot take: the field (a location as pydantic gives it) and why."""

    def __init__(self, loc: tuple, message: str):
        super().__init__(message)
        self.loc, self.message = loc, message


class IncidentNotFound(NotFound):
    """No incident has that reference (the message carries the reference only)."""


def new_incident_reference(now: datetime) -> str:
    """``L-YYMMDD-XXXXXX``: the request references' scheme under its own letter."""
    return "L-" + new_reference(now).removeprefix("R-")


def load_incident(session: Session, reference: str) -> Incident:
    return load_by_reference(session, Incident, reference, IncidentNotFound)


def facts_of(incident: Incident, *, listed: int) -> LeakFacts:
    """The rules' view of an incident; people are reachable when every one of them is listed."""
    return LeakFacts(
        learned_on=incident.discovered_on,
        affected_people=incident.affected_people,
        sensitive_data=incident.sensitive_data,
        financial_loss_risk=incident.financial_loss_risk,
        wrongful_purpose=incident.improper_purpose,
        strongly_encrypted=incident.encrypted,
        people_reachable=listed > 0 and listed >= incident.affected_people,
    )


def report_incident(
    session: Session,
    settings: Settings,
    data: IncidentReport,
    *,
    registry: Registry,
    actor: str,
    now: datetime,
) -> str:
    """Record the incident and its subjects, triaged by the rules, in the caller's transaction;
    its reference. The systems it names are ``registry``'s, its customers those of the registry's
    customer master. The dispatcher then gives it its run."""
    systems = registry.keys()
    if data.discovered_on > jst_date(now):
        raise IncidentRejected(("discovered_on",), "is in the future")
    for i, key in enumerate(data.systems):
        if key not in systems:
            raise IncidentRejected(("systems", i), f"no such system (one of: {', '.join(systems)})")
    customer_ids = resolve_customers(registry, data.affected)
    incident = Incident(
        reference=new_incident_reference(now),
        status=REPORTED,
        discovered_on=data.discovered_on,
        systems=list(dict.fromkeys(data.systems)),
        data_items=list(dict.fromkeys(data.data_items)),
        cause=data.cause,
        encrypted=data.encrypted,
        improper_purpose=data.improper_purpose,
        sensitive_data=data.sensitive_data,
        financial_loss_risk=data.financial_loss_risk,
        affected_people=data.affected_people if data.affected_people is not None else len(customer_ids),
        reported_by=actor,
        created_at=now,
    )
    session.add(incident)
    session.flush()
    session.add_all(
        IncidentSubject(incident_id=row_id(incident), customer_id=cid, language=language)
        for cid, language in customer_ids.items()
    )
    _assess(incident, assess_leak(facts_of(incident, listed=len(customer_ids))))
    audit(
        session,
        settings,
        actor=actor,
        action="incident.reported",
        reference=incident.reference,
        now=now,
        systems=incident.systems,
        affected_people=incident.affected_people,
        listed=len(customer_ids),
        cases=incident.triage_cases,
        reportable=incident.reportable,
    )
    return incident.reference


def _assess(incident: Incident, assessment: LeakAssessment) -> None:
    incident.reportable = assessment.reportable
    incident.triage_cases = [str(c) for c in assessment.cases]
    incident.preliminary_due = assessment.deadlines.preliminary if assessment.deadlines else None
    incident.final_due = assessment.deadlines.final if assessment.deadlines else None
    incident.notice_method = str(assessment.notice) if assessment.notice else None


def resolve_customers(registry: Registry, affected: list[AffectedCustomer]) -> dict[str, str]:
    """``customer id → notice language`` of the listed customers, found in the customer master;
    one that is not there is rejected by its place in the list."""
    engine, customers = registry.table(CUSTOMER_MASTER, "customers")
    c = customers.c
    ids = {a.customer_id for a in affected if a.customer_id}
    emails = {normalise_email(str(a.email)) for a in affected if a.email}
    found_ids: set[str] = set()
    by_email: dict[str, str] = {}
    with engine.connect() as conn:
        for chunk in _chunks(sorted(ids | emails)):
            for cid, email in conn.execute(
                sa_select(c.customer_id, c.email).where(
                    or_(c.customer_id.in_(chunk), func.lower(c.email).in_(chunk))
                )
            ):
                found_ids.add(cid)
                by_email.setdefault(normalise_email(email), cid)
    out: dict[str, str] = {}
    for i, a in enumerate(affected):
        cid = (
            a.customer_id if a.customer_id in found_ids else by_email.get(normalise_email(str(a.email or "")))
        )
        if cid is None:
            field = "customer_id" if a.customer_id else "email"
            raise IncidentRejected(("affected", i, field), "no such customer in the customer master")
        out.setdefault(cid, a.language)
    return out


def _chunks(values: list[str]):
    for start in range(0, len(values), LOOKUP_CHUNK):
        yield values[start : start + LOOKUP_CHUNK]


def listed(session: Session, incident: Incident) -> int:
    return session.exec(
        select(func.count()).select_from(IncidentSubject).where(IncidentSubject.incident_id == incident.id)
    ).one()


def confirm(
    session: Session, settings: Settings, reference: str, triage: Triage, *, actor: str, now: datetime
) -> Incident:
    """The privacy officer's triage: the reportability, cases and deadlines it settles on."""
    incident = load_incident(session, reference)
    proposed = incident.reportable, list(incident.triage_cases)
    _assess(incident, confirm_triage(facts_of(incident, listed=listed(session, incident)), triage))
    incident.confirmed_by, incident.confirmed_at, incident.status = actor, now, CONFIRMED
    session.add(incident)
    audit(
        session,
        settings,
        actor=actor,
        action="incident.triage_confirmed",
        reference=reference,
        now=now,
        triage=str(triage),
        proposed_reportable=proposed[0],
        proposed_cases=proposed[1],
        reportable=incident.reportable,
        cases=incident.triage_cases,
        preliminary_due=_iso(incident.preliminary_due),
        final_due=_iso(incident.final_due),
    )
    return incident


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def notice_key(reference: str, customer_id: str) -> str:
    """The idempotency key of the notice to one affected customer: one per (incident, subject)."""
    return f"{reference}:{NOTICE_KIND}:{customer_id}"


def write_notices(
    session: Session,
    settings: Settings,
    reference: str,
    *,
    registry: Registry,
    now: datetime,
    batch: int = NOTICE_BATCH,
) -> int:
    """Write the next ``batch`` notices to the outbox (each once, by its key), in the caller's
    transaction; how many. A customer no longer in the customer master gets none (audited)."""
    incident = load_incident(session, reference)
    subjects = list(
        session.exec(
            select(IncidentSubject)
            .where(IncidentSubject.incident_id == incident.id, col(IncidentSubject.noticed_at).is_(None))
            .order_by(col(IncidentSubject.id))
            .limit(batch)
        )
    )
    emails = customer_emails(registry, [s.customer_id for s in subjects])
    context = {
        "reference": reference,
        "discovered_on": incident.discovered_on.isoformat(),
        "data_items": incident.data_items,
    }
    missing = []
    for subject in subjects:
        if subject.customer_id in emails:
            enqueue(
                session,
                kind=NOTICE_KIND,
                language=subject.language,
                recipient_email=emails[subject.customer_id],
                now=now,
                idempotency_key=notice_key(reference, subject.customer_id),
                context=context,
            )
        else:
            missing.append(subject.customer_id)
        subject.noticed_at = now
        session.add(subject)
    if subjects:
        audit(
            session,
            settings,
            actor="system",
            action="incident.notices_written",
            reference=reference,
            now=now,
            written=len(subjects) - len(missing),
            no_email=missing,
        )
    return len(subjects)


def customer_emails(registry: Registry, customer_ids: list[str]) -> dict[str, str]:
    engine, customers = registry.table(CUSTOMER_MASTER, "customers")
    c = customers.c
    out: dict[str, str] = {}
    with engine.connect() as conn:
        for chunk in _chunks(customer_ids):
            out.update(conn.execute(sa_select(c.customer_id, c.email).where(c.customer_id.in_(chunk))).all())
    return out


def notice_progress(session: Session, incident: Incident) -> tuple[int, int]:
    """(subjects whose notice is written, subjects)."""
    done = session.exec(
        select(func.count())
        .select_from(IncidentSubject)
        .where(IncidentSubject.incident_id == incident.id, col(IncidentSubject.noticed_at).is_not(None))
    ).one()
    return done, listed(session, incident)


def notices_delivered(session: Session, reference: str) -> int:
    """How many of the incident's notices have left the outbox (sent, or failed for good)."""
    return session.exec(
        select(func.count())
        .select_from(Notice)
        .where(
            col(Notice.idempotency_key).like(notice_key(reference, "%")),
            col(Notice.state).not_in(("pending", "sending")),
        )
    ).one()


def record_public_notice(
    session: Session, settings: Settings, reference: str, text: str, *, actor: str, now: datetime
) -> None:
    """The alternative to individual notices (Art. 26(2) proviso): where and how it was published."""
    incident = load_incident(session, reference)
    incident.public_notice = text.strip()
    session.add(incident)
    audit(session, settings, actor=actor, action="incident.public_notice", reference=reference, now=now)


def mark_filed(
    session: Session,
    settings: Settings,
    reference: str,
    report: str,
    filed_on: date,
    *,
    actor: str,
    now: datetime,
) -> Incident:
    """The officer filed the preliminary or the final report with the PPC on ``filed_on``."""
    if report not in REPORTS:
        raise ValueError(f"report is one of {', '.join(REPORTS)}")
    incident = load_incident(session, reference)
    setattr(incident, f"{report}_filed_on", filed_on)
    session.add(incident)
    audit(
        session,
        settings,
        actor=actor,
        action=f"incident.{report}_filed",
        reference=reference,
        now=now,
        filed_on=filed_on.isoformat(),
        due=_iso(getattr(incident, f"{report}_due")),
    )
    return incident


def close(session: Session, settings: Settings, reference: str, *, now: datetime) -> None:
    incident = load_incident(session, reference)
    if incident.status != CLOSED:
        incident.status = CLOSED
        session.add(incident)
        audit(
            session,
            settings,
            actor="system",
            action="incident.closed",
            reference=reference,
            now=now,
            reportable=incident.reportable,
        )


# --- the incident's run (flows/incidents.py): each step its own transaction --------------------


@dataclass(frozen=True)
class IncidentRun:
    status: str  # reported: the officer's triage is awaited; closed: nothing is left to do
    markdown: str  # what the triage form shows


def start_run(settings: Settings, reference: str, flow_run_id: str) -> IncidentRun:
    """Note the run that carries the incident (the recovery sweep knows it by this id)."""
    with unit_of_work(settings) as session:
        incident = load_incident(session, reference)
        remember_run(session, incident, flow_run_id)
        return IncidentRun(incident.status, summary_markdown(session, incident))


def triage_confirmed(settings: Settings, reference: str, triage: Triage, *, actor: str) -> None:
    with unit_of_work(settings) as session:
        confirm(session, settings, reference, triage, actor=actor, now=utcnow())


@dataclass(frozen=True)
class Response:
    """What the run does once the triage is confirmed."""

    reportable: bool  # the customers are told and both PPC reports filed
    public_notice_due: bool  # not everyone can be told: the officer records the public notice


def response(settings: Settings, reference: str) -> Response:
    with unit_of_work(settings) as session:
        incident = load_incident(session, reference)
        due = incident.notice_method == NoticeMethod.PUBLIC_NOTICE and not incident.public_notice
        return Response(bool(incident.reportable), due)


def public_notice_given(settings: Settings, reference: str, text: str, *, actor: str) -> None:
    with unit_of_work(settings) as session:
        record_public_notice(session, settings, reference, text, actor=actor, now=utcnow())


@dataclass(frozen=True)
class Draft:
    markdown: str  # the report as the run's artifact and form show it
    filed: bool  # the officer gave its filing date


def draft(settings: Settings, reference: str, report: str) -> Draft:
    """Both reports' files written afresh (they follow the notices' progress); ``report``'s draft."""
    with unit_of_work(settings) as session:
        write_reports(session, settings, reference)
        incident = load_incident(session, reference)
        filed = getattr(incident, f"{report}_filed_on") is not None
        return Draft(report_markdown(session, incident, report), filed)


def report_filed(settings: Settings, reference: str, report: str, filed_on: date, *, actor: str) -> None:
    with unit_of_work(settings) as session:
        mark_filed(session, settings, reference, report, filed_on, actor=actor, now=utcnow())


def finish(settings: Settings, reference: str) -> str:
    with unit_of_work(settings) as session:
        close(session, settings, reference, now=utcnow())
    return CLOSED


def leaked_systems(session: Session, customer_ids: tuple[str, ...]) -> frozenset[str]:
    """The systems of every reportable incident that affected one of these customers: the
    ``leak_occurred`` ground's fact for the pre-screen (Art. 35(5))."""
    if not customer_ids:
        return frozenset()
    rows = session.exec(
        select(Incident.systems)
        .join(IncidentSubject, col(IncidentSubject.incident_id) == Incident.id)
        .where(col(IncidentSubject.customer_id).in_(customer_ids), col(Incident.reportable).is_(True))
    )
    return frozenset(key for systems in rows for key in systems)


# --- the report drafts (PPC Rules Art. 8) --------------------------------------------------------

ITEMS = (  # Rules Art. 8(1) (i)-(ix): the report's items, in the PPC form's order
    ("overview", "概要"),
    ("data_items", "漏えい等が発生し、又は発生したおそれがある個人データの項目"),
    ("people", "本人の数"),
    ("cause", "原因"),
    ("secondary_damage", "二次被害又はそのおそれの有無及びその内容"),
    ("response_to_people", "本人への対応の実施状況"),
    ("publication", "公表の実施状況"),
    ("prevention", "再発防止のための措置"),
    ("other", "その他参考となる事項"),
)
TITLES = {report: f"漏えい等報告（{name}）" for report, name in REPORT_NAMES.items()}
CASE_LABELS = {
    "sensitive_data": "要配慮個人情報",
    "financial_loss": "財産的被害のおそれ",
    "wrongful_purpose": "不正の目的によるおそれ",
    "over_1000_people": "1,000人を超える",
}
TO_BE_COMPLETED = "（記入してください）"


CAUSE_ELSEWHERE = "（PDF・CSV に記載。操作者の記述のため Prefect には表示しません）"


def report_items(session: Session, incident: Incident, *, cause: str | None = None) -> list[tuple[str, str]]:
    """The Art. 8 items as (label, text): facts, counts and codes, never a person's data; the
    cause as the operator wrote it unless ``cause`` stands in for it."""
    done, total = notice_progress(session, incident)
    cases = (
        "、".join(CASE_LABELS.get(c, c) for c in incident.triage_cases) or "規則第7条各号に該当する事由の疑い"
    )
    systems = "、".join(incident.systems)
    response = (
        f"本人通知 {done} / {total} 名"
        if incident.notice_method == NoticeMethod.INDIVIDUAL
        else f"公表による代替措置: {incident.public_notice or '未実施'}"
    )
    texts = {
        "overview": f"{incident.discovered_on.isoformat()} に発覚（対象システム: {systems}）。該当事由: {cases}。"
        f"{'高度な暗号化あり。' if incident.encrypted else ''}",
        "data_items": "、".join(incident.data_items),
        "people": f"{incident.affected_people} 名",
        "cause": incident.cause if cause is None else cause,
        "secondary_damage": TO_BE_COMPLETED,
        "response_to_people": response,
        "publication": incident.public_notice or TO_BE_COMPLETED,
        "prevention": TO_BE_COMPLETED,
        "other": f"madoguchi 事案番号 {incident.reference}",
    }
    return [(label, texts[key]) for key, label in ITEMS]


def report_markdown(session: Session, incident: Incident, report: str) -> str:
    """The draft as the Prefect artifact shows it: no personal data, and not the cause, which is
    free text an operator wrote."""
    due = getattr(incident, f"{report}_due")
    lines = [
        f"# {TITLES[report]} {incident.reference}",
        "",
        f"提出期限: {_iso(due) or '-'}（個人情報保護委員会へ）",
        "",
        "| 項目 | 内容 |",
        "|---|---|",
    ]
    lines += [
        f"| {label} | {text.replace('|', '｜')} |"
        for label, text in report_items(session, incident, cause=CAUSE_ELSEWHERE)
    ]
    return "\n".join(lines) + "\n"


def write_reports(session: Session, settings: Settings, reference: str) -> dict[str, dict[str, str]]:
    """Both drafts as PDF and CSV in the data folder (``incidents/<reference>/``), their paths
    recorded on the incident; rewritten each time, so they follow the notices' progress."""
    incident = load_incident(session, reference)
    folder = Path(settings.data_dir) / "incidents" / reference
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for report in REPORTS:
        items = report_items(session, incident)
        due = _iso(getattr(incident, f"{report}_due")) or "-"
        pdf, table = folder / f"{report}.pdf", folder / f"{report}.csv"
        pdf.write_bytes(
            render_items_pdf(
                f"{TITLES[report]} {reference}",
                [f"提出期限: {due}（個人情報保護委員会へ）"],
                items,
                subject=reference,
            )
        )
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerows([("項目", "内容"), ("提出期限", due), *items])
        table.write_text(buffer.getvalue(), encoding="utf-8-sig")
        paths[report] = {"pdf": str(pdf), "csv": str(table)}
    incident.reports = paths
    session.add(incident)
    return paths


def summary_markdown(session: Session, incident: Incident) -> str:
    """What the officer's triage form shows: facts, counts and the rules' proposal."""
    cases = "、".join(CASE_LABELS.get(c, c) for c in incident.triage_cases) or "なし"
    proposal = "報告対象" if incident.reportable else "報告対象外"
    return (
        f"**{incident.reference}** 漏えい等事案（発覚 {incident.discovered_on.isoformat()}）\n\n"
        f"- 対象システム: {'、'.join(incident.systems)}\n- 項目: {'、'.join(incident.data_items)}\n"
        f"- 本人の数: {incident.affected_people} 名（うち特定済み {listed(session, incident)} 名）\n"
        f"- 暗号化: {'あり' if incident.encrypted else 'なし'} / 不正の目的: "
        f"{'あり' if incident.improper_purpose else 'なし'}\n"
        f"- 規則による判定: **{proposal}**（該当事由: {cases}）\n"
        f"- 速報期限: {_iso(incident.preliminary_due) or '-'} / 確報期限: {_iso(incident.final_due) or '-'}\n\n"
        f"詳細は `madoguchi incident show {incident.reference}` で確認できます。"
    )
