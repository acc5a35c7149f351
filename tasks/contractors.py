"""The contractor run's steps that change the app database: each a Prefect task that takes
a contractor reference and returns references and codes only (results are stored in plain
text by Prefect: no company data in them). Each service call is idempotent, so a retry or a
replay after a resume changes nothing twice."""

from prefect import task

from models.db import unit_of_work, utcnow
from models.settings import get_settings
from services import contractor_supervision as supervision
from services import contractors as service


@task(task_run_name="assess:{reference}", retries=2, retry_delay_seconds=5)
def assess_application(reference: str) -> dict:
    """Score the application and check the contract; a hard blocker rejects here."""
    settings = get_settings()
    with unit_of_work(settings) as session:
        return service.assess(session, settings, reference, now=utcnow()).model_dump()


@task(task_run_name="register:{reference}", retries=2, retry_delay_seconds=5)
def register_contractor(reference: str) -> str:
    """Enter the approved contractor in the system registry."""
    settings = get_settings()
    with unit_of_work(settings) as session:
        return str(service.register(session, settings, reference, now=utcnow()))


@task(task_run_name="reassess:{reference}", retries=2, retry_delay_seconds=5)
def reassess_contractor(reference: str) -> dict:
    """Score the audit report waiting (or the last answers when the annual date has come)."""
    settings = get_settings()
    with unit_of_work(settings) as session:
        return supervision.reassess(session, settings, reference, now=utcnow()).model_dump()
