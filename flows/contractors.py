"""One contractor's run (docs/product.md §2, docs/rules.md §7): application → assessment and contract
checklist (a hard blocker rejects) → the privacy officer's approval → registration in the
system registry; later runs of the same flow score an audit report or the annual
reassessment, and after offboarding began (``madoguchi contractor offboard``) record the
deletion certificate.

Re-entrant like the request lifecycle: the contractor's status in the app database says what
is done, so a run started again, resumed or replayed goes on where the contractor stands.
The one parameter is the contractor's reference."""

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact
from prefect.runtime import flow_run

from flows import contractor_inputs as inputs
from flows.waits import ask, one_client
from models.contractors import ContractorStatus as S
from models.db import unit_of_work, utcnow
from models.settings import get_settings
from services import contractor_supervision as supervision
from services import contractors as service
from tasks.contractors import assess_application, reassess_contractor, register_contractor


@flow(name="contractor-onboarding", flow_run_name="{reference}", log_prints=False)
@one_client
async def contractor(reference: str) -> str:  # async: see flows/waits.py
    _remember_run(reference)
    if _status(reference) in (S.APPLIED, S.AWAITING_APPROVAL):
        await _select(reference)
    if _status(reference) == S.APPROVED:
        register_contractor(reference)
    with unit_of_work() as session:
        due = supervision.needs_reassessment(session, reference, now=utcnow())
    if due:
        reassess_contractor(reference)
    if _status(reference) == S.OFFBOARDING:
        await _record_certificate(reference)
    return str(_status(reference))


async def _select(reference: str) -> None:
    """The assessment, then the officer's word (autopilot: the rules' proposal). Approving
    with a clause missing is refused by the service: the officer is asked again."""
    settings = get_settings()
    proposal = assess_application(reference)
    markdown = inputs.assessment_markdown(proposal)
    await acreate_markdown_artifact(
        key=f"contractor-{reference.lower()}", markdown=markdown, description=f"{reference}: 委託先の評価"
    )
    invalid = 0  # answers refused in this run; a replay repeats them identically
    while _status(reference) == S.AWAITING_APPROVAL:
        if settings.autopilot:
            approve, reason, actor = proposal["proposal"] == "approve", None, "autopilot"
        else:
            answer = await ask(
                inputs.ContractorApproval,
                who="officer",
                key=f"contractor-approval-{invalid}",
                description=markdown,
            )
            approve, actor = answer.decision.code == "approve", f"officer:{answer.actor}"
            reason = None if approve else answer.reason.code
        try:
            with unit_of_work(settings) as session:
                service.decide(
                    session, settings, reference, approve=approve, reason=reason, actor=actor, now=utcnow()
                )
        except service.ApprovalInvalid:
            invalid += 1


async def _record_certificate(reference: str) -> None:
    settings = get_settings()
    if settings.autopilot:
        disposition, certificate, actor = "deleted", "autopilot", "autopilot"
    else:
        answer = await ask(
            inputs.DeletionCertificate,
            who="officer",
            key="deletion-certificate",
            description=inputs.offboarding_markdown(reference),
        )
        disposition, certificate = answer.disposition.code, answer.certificate
        actor = f"officer:{answer.actor}"
    with unit_of_work(settings) as session:
        supervision.record_disposal(
            session,
            settings,
            reference,
            disposition=disposition,
            certificate=certificate,
            actor=actor,
            now=utcnow(),
        )


def _remember_run(reference: str) -> None:
    """The run that may wait for the officer: the command line answers it through this id."""
    with unit_of_work() as session:
        row = service.load_contractor(session, reference)
        if row.flow_run_id != flow_run.id:
            row.flow_run_id = flow_run.id
            session.add(row)


def _status(reference: str) -> S:
    with unit_of_work() as session:
        return S(service.load_contractor(session, reference).status)
