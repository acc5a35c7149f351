"""The policy-revision run's one bulk step: the advance notice to every customer, written to
the outbox in batches, each batch its own transaction. Resumable: a run killed mid-way (or
run again) writes the same keys, which add nothing, and goes on. Only counts reach Prefect."""

from prefect import get_run_logger, task
from sqlmodel import col, func, select

from deployments.registry import registry_for
from models.db import unit_of_work, utcnow
from models.fulfilment import Notice
from models.settings import get_settings
from services import policy as service

BATCH = 500


@task(task_run_name="notify-customers:v{version}", retries=2, retry_delay_seconds=5)
def notify_customers(version: int) -> int:
    """Write every customer's notice of ``version``; how many there are."""
    settings, log, after = get_settings(), get_run_logger(), ""
    before = _written(version)
    while True:
        with unit_of_work(settings) as session:
            last = service.notify_customers(
                registry_for(settings), session, version, now=utcnow(), after=after, limit=BATCH
            )
        if last is None:
            break
        after = last
        log.info("policy v%s: %s notices written", version, _written(version))
    written = _written(version)
    with unit_of_work(settings) as session:
        service.notices_written(settings, session, version, now=utcnow(), count=written, before=before)
    return written


def _written(version: int) -> int:
    prefix = f"{service.reference(version)}:%"
    with unit_of_work() as session:
        return session.exec(select(func.count()).where(col(Notice.idempotency_key).like(prefix))).one()
