"""Privacy policy revisions (docs/product.md, issue 13 §2): a proposed text is compared with the
published version by the rules (models/rules/policy.py), the privacy officer approves it with
a date in force, it is published, and where a purpose of use changed every customer is told
before that date through the outbox. The texts and the decisions live in the app database;
the ``policy-revision`` flow run carries the version's reference (``policy-v<N>``) only."""

import difflib
from dataclasses import asdict, dataclass
from datetime import date, datetime

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from mail.outbox import enqueue
from models.db import unit_of_work, utcnow
from models.policy import PROPOSED, PUBLISHED, REJECTED, PolicyVersion, version_in_force
from models.rules import policy as rules
from models.rules.deadlines import jst_date
from models.settings import Settings
from services.common import NotFound, audit, load_by_reference, remember_run
from services.identity import CUSTOMER_MASTER
from systems.registry import Registry

NOTICE_KIND = "policy_revision"
MAX_TEXT = 200_000


class PolicyNotFound(NotFound):
    """No version has that number (or it is not published, where only published ones count)."""


class ProposalInvalid(ValueError):
    """A proposed text that cannot be proposed: the message says why, for the proposer."""


class PublishInvalid(ValueError):
    """An approval the rules do not take (a date in force before ``earliest``): the officer is
    asked again."""

    def __init__(self, message: str, earliest: date):
        super().__init__(message)
        self.earliest = earliest


def reference(version: int) -> str:
    """What a version is filed under in the audit trail and its notices."""
    return f"policy-v{version}"


def load(session: Session, version: int) -> PolicyVersion:
    row = session.exec(select(PolicyVersion).where(PolicyVersion.version == version)).first()
    if row is None:
        raise PolicyNotFound(version)
    return row


def versions(session: Session) -> list[PolicyVersion]:
    return list(session.exec(select(PolicyVersion).order_by(col(PolicyVersion.version))))


def latest_published(session: Session) -> PolicyVersion:
    """The newest published version (version 1 ships published)."""
    row = session.exec(
        select(PolicyVersion)
        .where(PolicyVersion.status == PUBLISHED)
        .order_by(col(PolicyVersion.version).desc())
    ).first()
    if row is None:
        raise PolicyNotFound("no published version")
    return row


def in_force(session: Session, at: datetime) -> PolicyVersion:
    """The published version in force at ``at`` (the intake's pages link to it)."""
    version = version_in_force(session, at)
    if version is None:
        raise PolicyNotFound(f"none in force at {at.isoformat()}")
    return load(session, version)


def propose(session: Session, settings: Settings, text: str, *, actor: str, now: datetime) -> PolicyVersion:
    """Record a proposed text as the next version, compared with the latest published one."""
    text = text.replace("\r\n", "\n").strip("\ufeff")
    if not text.strip():
        raise ProposalInvalid("the file is empty")
    if len(text) > MAX_TEXT:
        raise ProposalInvalid(f"the text is longer than {MAX_TEXT:,} characters")
    open_ = session.exec(select(PolicyVersion.version).where(PolicyVersion.status == PROPOSED)).first()
    if open_ is not None:
        raise ProposalInvalid(f"version {open_} is still waiting for the privacy officer's approval")
    current = latest_published(session)
    if text.strip() == current.text.strip():
        raise ProposalInvalid(f"the text is the same as version {current.version}")
    try:
        revision = rules.compare(current.text, text)
    except rules.PolicyTextInvalid as exc:
        raise ProposalInvalid(str(exc)) from None
    number = session.exec(select(func.max(PolicyVersion.version))).one() + 1
    row = PolicyVersion(
        version=number,
        reference=reference(number),
        status=PROPOSED,
        text=text,
        proposed_at=now,
        proposed_by=actor,
        findings=[asdict(f) for f in revision.findings],
        needs_notice=revision.needs_notice,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        settings,
        actor=actor,
        action="policy.proposed",
        reference=reference(number),
        now=now,
        version=number,
        compared_with=current.version,
        changes=[f.change.value for f in revision.findings],
        needs_notice=revision.needs_notice,
        consent_needed=revision.consent_needed,
    )
    return row


def revision_of(row: PolicyVersion) -> rules.Revision:
    return rules.Revision(
        tuple(rules.Finding(**{**f, "change": rules.PurposeChange(f["change"])}) for f in row.findings)
    )


def decide(
    session: Session,
    settings: Settings,
    version: int,
    *,
    approve: bool,
    in_force_on: date,
    actor: str,
    now: datetime,
) -> str:
    """Publish (with its date in force) or reject a proposed version, once; its status."""
    row = load(session, version)
    if row.status != PROPOSED:
        return row.status
    if approve:
        earliest = rules.earliest_in_force(revision_of(row), jst_date(now))
        if in_force_on < earliest:
            raise PublishInvalid(
                f"in force on {in_force_on} is too soon: the earliest is {earliest}"
                + (" (the customers are told first)" if row.needs_notice else ""),
                earliest,
            )
        row.status, row.published_at, row.in_force_on, row.approved_by = PUBLISHED, now, in_force_on, actor
    else:
        row.status, row.approved_by = REJECTED, actor
    session.add(row)
    audit(
        session,
        settings,
        actor=actor,
        action=f"policy.{row.status}",
        reference=reference(version),
        now=now,
        version=version,
        in_force_on=in_force_on.isoformat() if approve else None,
    )
    return row.status


# --- the revision's run (flows/policy.py): each step its own transaction ---------------------


@dataclass(frozen=True)
class RevisionRun:
    version: int
    status: str  # proposed: the officer's approval is awaited
    needs_notice: bool  # once published, every customer is told before the date in force
    markdown: str  # the diff the officer's form shows


def start_run(settings: Settings, reference_: str, flow_run_id: str) -> RevisionRun:
    """Note the run that may wait for the officer: the command line answers it through this id,
    and the dispatcher and the recovery sweep know the revision's run by it."""
    with unit_of_work(settings) as session:
        row = load_by_reference(session, PolicyVersion, reference_, PolicyNotFound)
        remember_run(session, row, flow_run_id)
        return RevisionRun(row.version, row.status, row.needs_notice, diff_markdown(session, row))


def officer_decided(settings: Settings, version: int, *, approve: bool, in_force_on: date, actor: str) -> str:
    """:func:`decide` on the officer's answer; :class:`PublishInvalid` for a date too soon."""
    with unit_of_work(settings) as session:
        return decide(
            session, settings, version, approve=approve, in_force_on=in_force_on, actor=actor, now=utcnow()
        )


def notify_customers(
    registry: Registry, session: Session, version: int, *, now: datetime, after: str = "", limit: int = 500
) -> str | None:
    """Write the advance notice of ``version`` to the next ``limit`` customers of the registry's
    customer master after the customer id ``after``, one notice per (version, customer) key: a
    batch written twice adds nothing. A marketing opt-out does not stop it (an important notice,
    not advertising). The last customer id written, or None when no customer is left."""
    row = load(session, version)
    if row.in_force_on is None:  # not published
        raise PolicyNotFound(version)
    engine, customers = registry.table(CUSTOMER_MASTER, "customers")
    with engine.connect() as conn:
        batch = conn.execute(
            sa_select(customers.c.customer_id, customers.c.email)
            .where(
                customers.c.customer_id > after,
                customers.c.email.is_not(None),
                customers.c.erased_at.is_(None),
            )
            .order_by(customers.c.customer_id)
            .limit(limit)
        ).all()
    context = {
        "reference": reference(version),
        "version": version,
        "in_force_on": row.in_force_on.isoformat(),
        "changes": [
            {
                "change": f["change"],
                "label": f["new_label"] or f["old_label"],
                "text": f["new_text"] or f["old_text"],
            }
            for f in row.findings
        ],
    }
    for customer_id, email in batch:
        enqueue(
            session,
            kind=NOTICE_KIND,
            language="ja",
            recipient_email=email,
            now=now,
            idempotency_key=f"{reference(version)}:{customer_id}",
            context=context,
        )
    return batch[-1].customer_id if batch else None


def notices_written(
    settings: Settings, session: Session, version: int, *, now: datetime, count: int, before: int
) -> None:
    """Every customer's notice is written: the revision is no longer open (services/recovery.py);
    audited when this run wrote some."""
    row = load(session, version)
    if row.notified_at is None:
        row.notified_at = now
        session.add(row)
    if count > before:
        audit(
            session,
            settings,
            actor="system",
            action="policy.customers_notified",
            reference=reference(version),
            now=now,
            version=version,
            notices=count,
        )


def diff_markdown(session: Session, row: PolicyVersion) -> str:
    """The officer's view of a proposal: what the rules found, what it needs, and the diff."""
    before = session.exec(
        select(PolicyVersion)
        .where(PolicyVersion.status == PUBLISHED, PolicyVersion.version < row.version)
        .order_by(col(PolicyVersion.version).desc())
    ).first()
    if before is None:  # version 1 ships published: every proposal has one before it
        raise PolicyNotFound(row.version - 1)
    revision = revision_of(row)
    words = {"added": "追加", "changed": "変更", "removed": "削除"}
    lines = [f"# プライバシーポリシー 第{row.version}版の案（第{before.version}版との比較）", ""]
    if revision.findings:
        lines += ["## 利用目的の変更", "", "| 区分 | 項目 | 変更前 | 変更後 |", "|---|---|---|---|"]
        lines += [
            f"| {words[f.change]} | {f.new_label or f.old_label} | {_cell(f.old_text)} | {_cell(f.new_text)} |"
            for f in revision.findings
        ]
        lines += [
            "",
            f"- 利用目的の変更のため、施行日までに全顧客へ通知します（法21条3項）。施行日は承認日から"
            f"{rules.NOTICE_LEAD_DAYS}日以降としてください。",
            "- 変更は変更前の利用目的と関連性を有すると合理的に認められる範囲に限られます（法17条2項）。",
        ]
        if revision.consent_needed:
            lines.append(
                "- **新しい利用目的があります**：保有している個人データをこの目的に使うには本人の同意が必要です（法18条1項）。"
            )
    else:
        lines += ["利用目的の変更はありません。顧客への個別通知は行わず、公開ページで告知します。"]
    diff = difflib.unified_diff(
        before.text.splitlines(),
        row.text.splitlines(),
        f"第{before.version}版",
        f"第{row.version}版",
        lineterm="",
        n=1,
    )
    lines += ["", "## 本文の差分", "", "```diff", *diff, "```"]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "｜") or "—"
