"""The SLA monitor's steps (flows/monitor.py): each a Prefect task that reads and writes the
app database through services/sla.py; results are counts and references, never personal data."""

from collections.abc import Sequence

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.waits import end_wait, lost_wakes, wake
from models.audit import audit_key, write_checkpoint
from models.db import unit_of_work, utcnow
from models.rules.deadlines import JST, jst_date
from models.settings import get_settings
from services import documents, identity, letters, register, sla, sla_report
from services.deadlines import close_overdue


def ui_url() -> str:
    """Prefect's UI address for links to runs: PREFECT_UI_URL (`up` sets the gate's), else the
    API's without ``/api``, else the gate of the settings."""
    from prefect.settings import get_current_settings

    current = get_current_settings()
    url = current.ui_url or (current.api.url or "").removesuffix("/api") or get_settings().prefect_ui_url
    return url.rstrip("/")


@task(task_run_name="close-overdue-waits", retries=2, retry_delay_seconds=10)
def close_overdue_waits() -> list[tuple[str, str | None]]:
    """Close the requests whose requester did not act by the deadline; (reference, run id)."""
    settings = get_settings()
    with unit_of_work(settings) as session:
        return close_overdue(session, settings, now=utcnow())


@task(task_run_name="wake-closed-runs")
def wake_closed_runs(closed: list[tuple[str, str | None]]) -> int:
    """End each closed request's wait: a run waiting for the requester is woken, sees the
    request ended and finishes; one waiting on a person's form is cancelled. Best effort: a
    run that cannot be reached now is logged; its request is closed either way."""
    return _wake_each(closed, end_wait)


@task(task_run_name="wake-stale-waits", retries=2, retry_delay_seconds=10)
def wake_stale_waits() -> int:
    """Wake the lifecycle runs still waiting for a requester action already taken: the
    intake's wake was lost (Prefect down at that moment, the intake stopped before it ran)."""
    return _wake_each(lost_wakes())


def _wake_each(runs: Sequence[tuple[str, str | None]], how=wake) -> int:
    """Wake each (reference, run id); one run's trouble is logged and does not stop the others."""
    logger, woken = get_run_logger(), 0
    for reference, flow_run_id in runs:
        try:
            woken += how(flow_run_id)
        except Exception as exc:  # noqa: BLE001 - best effort, see the callers
            logger.warning("could not wake the run of %s: %s", reference, type(exc).__name__)
    return woken


@task(task_run_name="check-deadlines", retries=2, retry_delay_seconds=10)
def check_deadlines() -> dict:
    """Warn and escalate (each once), then publish the operators' work queue: mail that could
    not be sent first, then the leak reports not filed yet, letters still to print and post,
    identity checked by post or phone, then the open requests."""
    settings, now, ui = get_settings(), utcnow(), ui_url()
    with unit_of_work(settings) as session:
        due = sla.due_notices(session, now=now)
        queue = sla.open_requests(session, limit=sla_report.WORK_QUEUE_ROWS)
        total = sla.count_open(session)
        failed_mail, failed_total = sla_report.failed_mail(session, ui_url=ui)
        to_post = letters.queue_rows(session, ui_url=ui)
        leak_reports = sla_report.incident_queue(sla.incident_deadlines(session, now=now), ui_url=ui)
        by_route = sla_report.identity_queue(identity.route_queue(session), now=now, ui_url=ui)
    sent = sla.Sent([], [])
    for start in range(0, len(due), sla.NOTICE_BATCH):  # no long write lock on a backlog
        with unit_of_work(settings) as session:
            batch = sla.notify_deadlines(
                session, settings, due[start : start + sla.NOTICE_BATCH], now=now, ui_url=ui
            )
        sent.warnings += batch.warnings
        sent.escalations += batch.escalations
    create_table_artifact(
        key="work-queue",
        table=failed_mail
        + leak_reports
        + to_post
        + by_route
        + sla_report.work_queue(queue, now=now, ui_url=ui),
        description=(f"送信できなかったメール {failed_total}件（先頭、新しい順）。" if failed_total else "")
        + (f"未提出の漏えい等報告 {len(leak_reports)}件（期限の近い順）。" if leak_reports else "")
        + (f"印刷待ちの書面 {len(to_post)}件。" if to_post else "")
        + (f"郵送・電話で本人確認中 {len(by_route)}件（期限の近い順）。" if by_route else "")
        + f"未完了の請求 {total}件（期限の近い順に{len(queue)}件、{now.astimezone(JST):%Y-%m-%d %H:%M} 時点）。"
        "フロー実行のページで再開（Resume）します。",
    )
    return {"open": total, "warnings": len(sent.warnings), "escalations": len(sent.escalations)}


@task(task_run_name="check-contractors", retries=2, retry_delay_seconds=10)
def check_contractors() -> list[str]:
    """Tell the privacy officer about reassessments due and certificates expiring (once each)."""
    settings, now = get_settings(), utcnow()
    with unit_of_work(settings) as session:
        return sla.notify_contractors(session, settings, sla.contractors_due(session, now=now), now=now)


@task(task_run_name="purge-documents", retries=2, retry_delay_seconds=10)
def purge_documents() -> int:
    """Delete agents' uploaded files a set number of days after their request closed
    (``document_retention_days``); how many."""
    settings = get_settings()
    with unit_of_work(settings) as session:
        return len(documents.purge(session, settings, now=utcnow()))


@task(task_run_name="audit-checkpoint", retries=2, retry_delay_seconds=10)
def checkpoint_audit() -> dict:
    """Sign the audit chain's head into the checkpoint file, outside the app database: a tail
    cut off with the head row put back as it was shows against it (`madoguchi audit verify`).
    Reports the head's number and hash, which name no one."""
    settings = get_settings()
    with unit_of_work(settings) as session:
        checkpoint = write_checkpoint(
            session,
            audit_key(settings.secret),
            settings.audit_checkpoint_path,
            utcnow(),
        )
    return checkpoint.as_dict()


@task(task_run_name="daily-digest", retries=2, retry_delay_seconds=10)
def publish_digest(checkpoint: dict | None = None) -> dict:
    """The day's digest: a markdown artifact every run, one email to the privacy officer a day;
    it carries the audit checkpoint, so the officer's mailbox keeps a copy of the head too."""
    settings, now, ui = get_settings(), utcnow(), ui_url()
    with unit_of_work(settings) as session:
        rows = sla.open_requests(session)
        recent = register.summary(
            session, *register.recent_months(jst_date(now), register.DIGEST_MONTHS), now=now
        )
        day = sla_report.digest(
            rows,
            sla.contractors_due(session, now=now),
            now=now,
            ui_url=ui,
            incidents=sla.incident_deadlines(session, now=now),
            checkpoint=checkpoint,
            register=register.digest_part(recent),
        )
        emailed = sla_report.send_digest(session, settings, day, now=now, ui_url=ui)
    create_markdown_artifact(
        key="sla-digest",
        markdown=sla_report.digest_markdown(day),
        description=f"日次ダイジェスト {day.day.isoformat()}",
    )
    return {"day": day.day.isoformat(), "open": day.open_count, "emailed": emailed, **day.counts}
