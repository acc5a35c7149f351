"""The review of one third-party provision request (PRODUCT.md §4): the statutory check
proposes, the privacy officer decides on a form in the Prefect UI (or ``madoguchi provision
decide``), a provision writes its record. Re-entrant like the lifecycle: a decided review
returns at once; the only parameter is the review's reference."""

from enum import StrEnum

import pydantic
from prefect import flow
from prefect.artifacts import acreate_markdown_artifact
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import Field

from flows.waits import ask, one_client
from models.db import unit_of_work, utcnow
from models.settings import get_settings
from services import provision as service


class Provide(StrEnum):
    PROVIDE = "provide"
    REFUSE = "refuse"


def decision_form(proposed: str) -> type[RunInput]:
    """The officer's form, pre-filled with the proposal (a default keeps the field's
    description, ``with_initial_data`` would not)."""
    return pydantic.create_model(
        "ProvisionDecision", __base__=RunInput,
        decision=(Provide, Field(Provide(proposed), description="提供する・提供しない（法的根拠がなければ提供できません）")),
        note=(str, Field("", description="判断の理由・メモ（個人情報は記入しないでください）")),
        officer=(str, Field("privacy-officer", description="判断した個人情報保護管理責任者")),
    )


@flow(name="provision-review", flow_run_name="{reference}", log_prints=False)
@one_client
async def provision_review(reference: str) -> str:  # async: see flows/waits.py
    settings = get_settings()
    with unit_of_work(settings) as session:
        service.remember_run(session, reference, str(flow_run.id))
        if service.load_review(session, reference).status in service.FINAL:
            return service.load_review(session, reference).status
        proposal = service.propose(session, settings, reference, now=utcnow())
        markdown = service.summary_markdown(service.load_review(session, reference), proposal)
    await acreate_markdown_artifact(key=f"provision-{reference.lower()}", markdown=markdown,
                                    description=f"{reference}: 第三者提供の事前審査")
    invalid = 0  # provisions refused as without basis; a replay repeats them identically
    while True:
        if settings.autopilot:
            provide, actor, note = proposal["proposed"] == Provide.PROVIDE, "autopilot", ""
        else:
            warning = ("\n\n**前回の「提供する」は受け付けられませんでした: 法令上の根拠がありません。**"
                       if invalid else "")
            answer = await ask(decision_form(proposal["proposed"]), key=f"provision-{invalid}",
                               description=markdown + warning)
            provide, actor, note = answer.decision == Provide.PROVIDE, f"officer:{answer.officer}", answer.note
        try:
            with unit_of_work(settings) as session:
                return service.decide(session, settings, reference, provide=provide, actor=actor,
                                      note=note, now=utcnow())
        except service.DecisionInvalid:
            invalid += 1
            with unit_of_work(settings) as session:  # e.g. consent withdrawn since the proposal
                proposal = service.propose(session, settings, reference, now=utcnow())
