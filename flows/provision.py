"""The review of one third-party provision request (docs/product.md §4): the statutory check
proposes, the privacy officer decides on a form in the Prefect UI (or ``madoguchi provision
decide``), a provision writes its record. Re-entrant like the lifecycle: a decided review
returns at once; the only parameter is the review's reference."""

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact
from prefect.runtime import flow_run

from flows.forms import choice, simple_form, wait_text
from flows.waits import ask, one_client
from models.settings import get_settings
from services import provision as service

# The officer's form; the proposal is in the text above it, the decision is the officer's.
ProvisionDecision = simple_form(
    "ProvisionDecision", decision=choice("provide", ["provide", "refuse"]), note=(str, "")
)


@flow(name="provision-review", flow_run_name="{reference}", log_prints=False)
@one_client
async def provision_review(reference: str) -> str:  # async: see flows/waits.py
    settings = get_settings()
    run = service.start_run(settings, reference, str(flow_run.id))
    if run.status in service.FINAL:
        return run.status
    await acreate_markdown_artifact(
        key=f"provision-{reference.lower()}",
        markdown=run.markdown,
        description=f"{reference}: 第三者提供の事前審査",
    )
    proposed = run.proposed
    invalid = 0  # provisions refused as without basis; a replay repeats them identically
    while True:
        if settings.autopilot:
            provide, actor, note = proposed == "provide", "autopilot", ""
        else:
            warning = "\n\n" + wait_text("refused_provision") if invalid else ""
            answer = await ask(
                ProvisionDecision,
                who="officer",
                key=f"provision-{invalid}",
                description=run.markdown + warning,
            )
            provide, actor, note = answer.decision.code == "provide", f"officer:{answer.actor}", answer.note
        try:
            return service.officer_decided(settings, reference, provide=provide, actor=actor, note=note)
        except service.DecisionInvalid:
            invalid += 1
            proposed = service.propose_again(settings, reference)
