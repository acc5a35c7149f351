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
from models.contractors import ContractorStatus
from models.settings import Settings, get_settings
from services import contractor_supervision as supervision
from services import contractors as service
from services.contractor_supervision import ContractorNext
from tasks.contractors import assess_application, reassess_contractor, register_contractor


@flow(name="contractor-onboarding", flow_run_name="{reference}", log_prints=False)
@one_client
async def contractor(reference: str) -> str:  # async: see flows/waits.py
    settings = get_settings()
    service.start_run(settings, reference, str(flow_run.id))
    while (step := supervision.next_step(settings, reference)) is not ContractorNext.DONE:
        if step is ContractorNext.SELECT:
            await _select(settings, reference)
        elif step is ContractorNext.REGISTER:
            register_contractor(reference)
        elif step is ContractorNext.REASSESS:
            reassess_contractor(reference)
        else:
            await _record_certificate(settings, reference)
    return str(service.status(settings, reference))


async def _select(settings: Settings, reference: str) -> None:
    """The assessment, then the officer's word (autopilot: the rules' proposal). Approving
    with a clause missing is refused by the service: the officer is asked again."""
    proposal = assess_application(reference)
    markdown = inputs.assessment_markdown(proposal)
    await acreate_markdown_artifact(
        key=f"contractor-{reference.lower()}", markdown=markdown, description=f"{reference}: 委託先の評価"
    )
    status = proposal["status"]
    invalid = 0  # answers refused in this run; a replay repeats them identically
    while status == ContractorStatus.AWAITING_APPROVAL:
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
            status = service.officer_decided(settings, reference, approve=approve, reason=reason, actor=actor)
        except service.ApprovalInvalid:
            invalid += 1


async def _record_certificate(settings: Settings, reference: str) -> None:
    disposition: supervision.Disposition
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
    supervision.certificate_received(
        settings, reference, disposition=disposition, certificate=certificate, actor=actor
    )
