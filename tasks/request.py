"""The lifecycle's steps that reach outside the app database (systems, packages, email):
each a Prefect task that takes a request reference and returns references only."""

from prefect import get_run_logger, task
from sqlmodel import select

from deployments.registry import registry_for
from disclosure import build_and_store
from disclosure.build import PACKAGE_TYPES
from disclosure.store import reissue_token
from mail.outbox import deliver_pending
from mail.sendgrid_adapter import MailNotConfigured, email_port
from models.db import unit_of_work, utcnow
from models.requests import DecisionItem
from models.rules.vocabulary import Delivery, Outcome, Status
from models.settings import get_settings
from services import closing, identity
from services.common import load_request


@task(task_run_name="identity:{reference}", retries=2, retry_delay_seconds=5)
def start_identity(reference: str) -> str:
    """Match the principal and find the subject in every system (idempotent)."""
    settings = get_settings()
    with unit_of_work(settings) as session:
        return str(
            identity.start(session, settings, reference, registry=registry_for(settings), now=utcnow())
        )


@task(task_run_name="review:{reference}", retries=2, retry_delay_seconds=5)
def propose_review(reference: str) -> dict:
    """Locate the subject's data and write the pre-screen's proposal (idempotent)."""
    from services.review import propose

    settings = get_settings()
    with unit_of_work(settings) as session:
        summary = propose(session, settings, reference, registry=registry_for(settings), now=utcnow())
        return summary.model_dump(mode="json")


@task(task_run_name="complete:{reference}", retries=2, retry_delay_seconds=5)
def complete_request(reference: str, outcome: str, reasons: list[str]) -> str:
    """Build the disclosure package when one is due, then close with the decision notice; the
    package's download token goes straight into the notice, never into a result. Data to go by
    post has no link: the help desk prints the package and posts it with the decision letter."""
    settings, now = get_settings(), utcnow()
    outcome = Outcome(outcome)
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        packaged = request.request_type in PACKAGE_TYPES and outcome != Outcome.REFUSED
        posted = request.details.get("delivery") == Delivery.POSTAL
        disclosed = [
            i.system_key
            for i in session.exec(
                select(DecisionItem).where(
                    DecisionItem.request_id == request.id, DecisionItem.final_action == "grant"
                )
            )
            if i.system_key
        ]
    package: dict[str, str | bool] | None = None
    if packaged:
        receipt = build_and_store(settings, reference, disclosed, now=now, registry=registry_for(settings))
        package = (
            {"package_posted": True} if posted else {"package_expires_at": receipt.expires_at.isoformat()}
        )
    with unit_of_work(settings) as session:
        if package is not None and not posted:
            token = receipt.token or reissue_token(session, settings, reference, actor="system", now=now)
            package["package_url"] = f"{settings.mail_public_base_url}/packages/{reference}?token={token}"
        status = Status.REFUSED if outcome == Outcome.REFUSED else Status.COMPLETED
        closing.close(
            session,
            settings,
            reference,
            status=status,
            outcome=outcome,
            reasons=reasons,
            now=now,
            package=package,
        )
        return str(status)


@task(task_run_name="send-notices", retries=3, retry_delay_seconds=10)
def send_notices() -> dict:
    """Deliver what the outbox holds (this request's notices and any others still pending).
    A process without mail settings (a `madoguchi` command beside `up`) leaves them pending
    for the one that has them: `up`'s mail thread, or the next run that can send."""
    settings = get_settings()
    try:
        port = email_port(settings)
    except MailNotConfigured as exc:
        get_run_logger().warning("notices left pending: %s", exc)
        return {"sent": 0, "failed": 0, "in_doubt": 0}
    report = deliver_pending(settings, port)
    return {"sent": len(report.sent), "failed": len(report.failed), "in_doubt": len(report.in_doubt)}
