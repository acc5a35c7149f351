"""The incident-response run's one bulk step: the notice to every affected customer, written
to the outbox in batches, each batch its own transaction, then delivered, with a progress
artifact. Resumable: a run killed mid-way (or run again) goes on from the first customer
without a notice, each notice's key (incident, customer) adds nothing twice, and the outbox
sends a claimed notice at most once. Only counts reach Prefect."""

from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from deployments.registry import registry_for
from models.db import unit_of_work, utcnow
from models.settings import get_settings
from services import incidents as service
from services import sla
from tasks.monitor import ui_url
from tasks.request import send_notices


@task(task_run_name="notify-subjects:{reference}", retries=2, retry_delay_seconds=5)
def notify_subjects(reference: str) -> dict:
    """Write and deliver every affected customer's notice; (written, delivered) counts."""
    settings, log = get_settings(), get_run_logger()
    progress = _progress(reference)
    artifact = create_progress_artifact(
        progress=progress["percent"],
        key=f"{reference.lower()}-notices",
        description=f"{reference}: 本人への通知（{progress['total']} 名）",
    )
    while True:
        with unit_of_work(settings) as session:
            written = service.write_notices(
                session, settings, reference, registry=registry_for(settings), now=utcnow()
            )
        while send_notices.fn()["sent"]:  # this batch, and anything else still pending
            pass
        progress = _progress(reference)
        # Prefect types the id as a coroutine too; from a sync task it is the id
        update_progress_artifact(artifact_id=artifact, progress=progress["percent"])  # type: ignore[arg-type]
        log.info(
            "%s: notices written %s, delivered %s of %s",
            reference,
            progress["written"],
            progress["delivered"],
            progress["total"],
        )
        if not written:
            return progress


def _progress(reference: str) -> dict:
    with unit_of_work() as session:
        written, total = service.notice_progress(session, service.load_incident(session, reference))
        delivered = service.notices_delivered(session, reference)
    return {
        "written": written,
        "delivered": delivered,
        "total": total,
        "percent": 100.0 * delivered / total if total else 100.0,
    }


@task(task_run_name="check-incident-deadlines", retries=2, retry_delay_seconds=10)
def check_incident_deadlines() -> list[str]:
    """The SLA monitor's look at the PPC reports: the privacy officer warned before each
    deadline and escalated at it (once each). The reports not filed yet are on the work queue
    (tasks/monitor.py ``check_deadlines``)."""
    settings, now = get_settings(), utcnow()
    with unit_of_work(settings) as session:
        return sla.notify_incidents(
            session, settings, sla.incident_deadlines(session, now=now), now=now, ui_url=ui_url()
        )
