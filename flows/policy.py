"""One privacy policy revision (issue 13 §2, docs/rules.md §9): the proposed text's diff
against the published version as an artifact, the privacy officer's approval with a date in
force on a form (or ``madoguchi policy approve``), publication, and, where a purpose of use
changed, the advance notice to every customer through the outbox.

The policy's text is no personal data: it may be shown in Prefect. The customers' addresses
stay in the app database and the demo systems; the run carries the version's reference only.
Re-entrant: the version's status says what is done, and the notices' keys (one per version
and customer) make a re-run write and send nothing twice; so a run that died is simply started
again (services/recovery.py). Autopilot does not approve a
revision: there is no proposal for the date in force."""

from datetime import date

import pydantic
from prefect import flow
from prefect.artifacts import acreate_markdown_artifact
from prefect.runtime import flow_run

from flows.forms import Form, choice, field
from flows.waits import ask, one_client
from models.policy import PROPOSED, PUBLISHED
from models.rules.policy import NOTICE_LEAD_DAYS
from models.settings import get_settings
from services import policy as service
from tasks.policy import notify_customers
from tasks.request import send_notices

PolicyApproval = pydantic.create_model(
    "PolicyApproval",
    __base__=Form,
    decision=field("PolicyApproval", "decision", choice("policy_decision", ["approve", "reject"])),
    in_force_on=field("PolicyApproval", "in_force_on", date, lead_days=str(NOTICE_LEAD_DAYS)),
)


@flow(name="policy-revision", flow_run_name="{reference}", log_prints=False)
@one_client
async def policy_revision(reference: str) -> str:  # async: see flows/waits.py
    """``reference`` is the version's ``policy-v<N>``, as for every case the dispatcher and the
    recovery sweep start."""
    settings = get_settings()
    run = service.start_run(settings, reference, str(flow_run.id))
    if run.status == PROPOSED:
        await acreate_markdown_artifact(
            key=f"policy-v{run.version}-diff",
            markdown=run.markdown,
            description=f"プライバシーポリシー第{run.version}版の案：差分",
        )
    status = run.status
    refused = ""  # why the last answer was not taken; a replay meets the same answers in order
    invalid = 0
    while status == PROPOSED:
        answer = await ask(
            PolicyApproval,
            who="officer",
            key=f"policy-approval-{invalid}",
            description=run.markdown + refused,
        )
        try:
            status = service.officer_decided(
                settings,
                run.version,
                approve=answer.decision.code == "approve",
                in_force_on=answer.in_force_on,
                actor=f"officer:{answer.actor}",
            )
        except service.PublishInvalid as exc:
            invalid += 1
            refused = f"\n\n**前回の回答は受け付けられませんでした**：施行日は{exc.earliest:%Y-%m-%d}以降にしてください。"
    if status == PUBLISHED and run.needs_notice:
        notify_customers(run.version)
        send_notices()
    return status
