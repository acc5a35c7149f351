"""What operators and the privacy officer read: the work queue (mail that could not be sent,
then the leak incidents' PPC reports not filed yet, identity checked by post or phone with its
deadline, then the open requests, each most urgent
first, with the link to each waiting run, where the operator resumes it) and the daily digest. Built from the monitor's rows (services/sla.py) and
the failed notices: references, codes and dates, never a name or an address."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from mail.outbox import enqueue, notice_ref, redact
from models.fulfilment import Notice
from models.requests import Request
from models.rules.deadlines import JST, SlaStage, jst_date
from models.rules.leaks import REPORT_NAMES
from models.rules.states import NoticeState
from models.settings import Settings
from services.common import audit
from services.identity import RouteDue
from services.sla import ContractorDue, IncidentDue, OpenRequest, notice_exists, run_url

WORK_QUEUE_ROWS = 500  # the most urgent first; the description counts them all
FAILED_MAIL_ROWS = 100  # the newest first
WHAT = {"reassessment": "再評価期限", "certification_expiry": "認証の有効期限"}


def time_left(due_at: datetime | None, now: datetime) -> str:
    """「残り 2日 3時間」 or 「超過 1日 4時間」, to the hour."""
    if due_at is None:
        return "-"
    hours = int(abs((due_at - now).total_seconds()) // 3600)
    span = f"{hours // 24}日 {hours % 24}時間" if hours >= 24 else f"{hours}時間"
    return f"残り {span}" if due_at > now else f"超過 {span}"


def days_left(days: int) -> str:
    """「残り 3日」, 「本日が期限」 or 「超過 2日」: a PPC report's deadline is a day."""
    return f"残り {days}日" if days > 0 else "本日が期限" if days == 0 else f"超過 {-days}日"


def incident_queue(due: list[IncidentDue], *, ui_url: str) -> list[dict]:
    """The work queue's rows for the PPC reports not filed yet (``sla.incident_deadlines``:
    earliest first); the link is the incident's run, where the officer records the filing."""
    return [
        {
            "受付番号": d.reference,
            "種別": f"漏えい等報告（{REPORT_NAMES[d.report]}）",
            "状態": "未提出",
            "待ち": "",
            "回答期限": d.due_date.isoformat(),
            "残り": days_left(d.days_left),
            "フロー実行": d.url(ui_url),
        }
        for d in due
    ]


ROUTES = {
    "post": ("本人確認（郵送）", "書類の受領・確認待ち"),
    "phone": ("本人確認（電話）", "折り返し電話待ち"),
}


def identity_queue(due: list[RouteDue], *, now: datetime, ui_url: str) -> list[dict]:
    """The work queue's rows for identity checked by post or phone (``identity.route_queue``:
    earliest first), each with the route's own deadline; the link is the waiting run."""
    return [
        {
            "受付番号": d.reference,
            "種別": ROUTES[d.route][0],
            "状態": ROUTES[d.route][1],
            "待ち": "",
            "回答期限": f"{d.deadline_at.astimezone(JST):%Y-%m-%d %H:%M}",
            "残り": time_left(d.deadline_at, now),
            "フロー実行": f"{ui_url}/runs/flow-run/{d.flow_run_id}" if d.flow_run_id else "",
        }
        for d in due
    ]


def work_queue(rows: list[OpenRequest], *, now: datetime, ui_url: str) -> list[dict]:
    """The table operators work from (rows come most urgent first)."""
    return [
        {
            "受付番号": row.reference,
            "種別": row.request_type,
            "状態": row.status,
            "待ち": row.waiting_for or "",
            "回答期限": f"{row.due_at.astimezone(JST):%Y-%m-%d %H:%M}" if row.due_at else "",
            "残り": "時計停止中" if row.paused else time_left(row.due_at, now),
            "フロー実行": run_url(ui_url, row) if row.flow_run_id else "",
        }
        for row in rows
    ]


def failed_mail(session: Session, *, ui_url: str, limit: int = FAILED_MAIL_ROWS) -> tuple[list[dict], int]:
    """The work queue's rows for notices that could not be sent (outbox state ``failed``: the
    requester or officer was told nothing), newest first, and how many there are. The error is
    SendGrid's text without addresses; the link is the request's run, else the work queue."""
    rows = session.execute(
        select(Notice, col(Request.flow_run_id))
        .outerjoin(Request, col(Request.id) == Notice.request_id)
        .where(col(Notice.state) == NoticeState.FAILED)
        .order_by(col(Notice.id).desc())
        .limit(limit)
    ).all()
    total = session.execute(
        select(func.count()).select_from(Notice).where(col(Notice.state) == NoticeState.FAILED)
    ).scalar_one()
    return [
        {
            "受付番号": notice_ref(notice),
            "種別": f"メール {notice.kind}",
            "状態": f"送信失敗: {redact(notice.last_error or '')[:200]}",
            "待ち": "",
            "回答期限": "",
            "残り": f"{notice.attempts}回試行",
            "フロー実行": f"{ui_url}/runs/flow-run/{flow_run_id}"
            if flow_run_id
            else f"{ui_url}/artifacts/key/work-queue",
        }
        for notice, flow_run_id in rows
    ], total


@dataclass(frozen=True)
class Digest:
    day: date
    open_count: int
    by_status: dict[str, int]
    counts: dict[str, int]  # overdue, due_today, warning, paused
    overdue: list[dict]
    due_today: list[dict]  # due by 18:00 today (JST)
    warning: list[dict]  # past 70 %, due later
    contractors: list[dict]
    incidents: list[dict]  # the PPC reports not filed yet, earliest first
    checkpoint: dict | None = None  # the audit chain's signed head: seq, hash, at (JST)
    register: dict | None = None  # the request register's recent months (services/register.py: digest_part)

    def context(self, ui_url: str) -> dict:
        """The digest email's context (JSON, references only)."""
        return {
            "day": self.day.isoformat(),
            "open_count": self.open_count,
            "by_status": self.by_status,
            "counts": self.counts,
            "overdue": self.overdue,
            "due_today": self.due_today,
            "warning": self.warning,
            "contractors": self.contractors,
            "incidents": self.incidents,
            "checkpoint": self.checkpoint,
            "register": self.register,
            "ui_url": f"{ui_url}/artifacts/key/work-queue",
        }


def digest(
    rows: list[OpenRequest],
    contractors: list[ContractorDue],
    *,
    now: datetime,
    ui_url: str,
    limit: int = 30,
    incidents: Sequence[IncidentDue] = (),
    checkpoint: dict | None = None,
    register: dict | None = None,
) -> Digest:
    """The day's overview for the privacy officer: counts and the requests that need a look,
    the leak reports not filed yet with their days left, the audit checkpoint (``Checkpoint.as_dict``), a copy of the head outside our systems, and
    the request register's summary of the recent months."""

    def entry(row: OpenRequest, due: date) -> dict:
        return {
            "reference": row.reference,
            "status": row.status,
            "due_date": due.isoformat(),
            "url": run_url(ui_url, row),
        }

    by_status: dict[str, int] = {}
    lists: dict[str, list[dict]] = {"overdue": [], "due_today": [], "warning": []}
    today, paused = jst_date(now), 0
    for row in rows:
        by_status[row.status] = by_status.get(row.status, 0) + 1
        paused += row.paused
        stage = row.stage(now)
        if stage is SlaStage.ON_TRACK or row.due_at is None:  # only a due date is warned or overdue
            continue
        due = jst_date(row.due_at)
        if stage is SlaStage.OVERDUE:
            lists["overdue"].append(entry(row, due))
        else:
            lists["due_today" if due == today else "warning"].append(entry(row, due))
    counts = {name: len(found) for name, found in lists.items()} | {"paused": paused}
    if checkpoint is not None:
        checkpoint = {
            **checkpoint,
            "at": f"{datetime.fromisoformat(checkpoint['at']).astimezone(JST):%Y-%m-%d %H:%M}",
        }
    return Digest(
        today,
        len(rows),
        dict(sorted(by_status.items())),
        counts,
        lists["overdue"][:limit],
        lists["due_today"][:limit],
        lists["warning"][:limit],
        [c.as_dict() for c in contractors],
        [{**d.as_dict(), "url": d.url(ui_url)} for d in incidents],
        checkpoint,
        register,
    )


def send_digest(
    session: Session, settings: Settings, day_digest: Digest, *, now: datetime, ui_url: str
) -> bool:
    """One digest email a day (outbox key ``digest:<day>``); True when this call wrote it."""
    key = f"digest:{day_digest.day.isoformat()}"
    if notice_exists(session, key):
        return False
    enqueue(
        session,
        kind="daily_digest",
        language="ja",
        recipient_email=settings.mail_privacy_officer_email,
        idempotency_key=key,
        context=day_digest.context(ui_url),
        now=now,
    )
    audit(
        session,
        settings,
        actor="monitor",
        action="sla.digest",
        reference=key,
        now=now,
        open_count=day_digest.open_count,
        **day_digest.counts,
    )
    return True


def digest_markdown(day_digest: Digest) -> str:
    """The digest as the Prefect UI shows it (markdown artifact ``sla-digest``)."""
    d = day_digest
    lines = [
        f"# 日次ダイジェスト {d.day.isoformat()}",
        "",
        f"未完了の請求: **{d.open_count}件**（期限超過 {d.counts['overdue']}件・本日期限 "
        f"{d.counts['due_today']}件・期限注意 {d.counts['warning']}件・請求者待ち {d.counts['paused']}件）",
        "",
        "| 状態 | 件数 |",
        "|---|---|",
        *(f"| {s} | {n} |" for s, n in d.by_status.items()),
    ]
    for title, items in (
        ("期限超過", d.overdue),
        ("本日が期限", d.due_today),
        ("期限注意（70%経過）", d.warning),
    ):
        lines += ["", f"## {title}", ""]
        lines += [
            f"- [{r['reference']}]({r['url']}) 期限 {r['due_date']}（{r['status']}）" for r in items
        ] or ["なし"]
    if d.incidents:
        lines += ["", "## 漏えい等報告（個人情報保護委員会）の提出期限", ""]
        lines += [
            f"- [{i['reference']}]({i['url']}) {REPORT_NAMES[i['report']]} 期限 {i['due_date']}"
            f"（{days_left(i['days_left'])}）"
            for i in d.incidents
        ]
    if d.contractors:
        lines += ["", "## 業務委託先の監督", ""]
        lines += [f"- {c['reference']}: {WHAT[c['what']]} {c['due_date']}" for c in d.contractors]
    if d.register:
        r = d.register
        lines += [
            "",
            f"## {r['title']}",
            "",
            f"![{r['chart_title']}]({r['chart']})",
            "",
            "、".join(f"{name}: {label}" for label, _, name in r["legend"]),
            "",
            "| " + " | ".join(r["headings"]) + " |",
            "|" + "---|" * len(r["headings"]),
            *("| " + " | ".join(row) + " |" for row in r["rows"]),
        ]
    if d.checkpoint:
        cp = d.checkpoint
        lines += ["", f"監査証跡のチェックポイント: #{cp['seq']} `{cp['hash']}`（{cp['at']} 時点）"]
    return "\n".join(lines) + "\n"
