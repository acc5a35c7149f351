"""One leak incident (Art. 26; docs/rules.md §6): the rules' triage is confirmed or corrected
by the privacy officer on a form, the PPC report drafts (Rules Art. 8) become artifacts and
files, every listed customer is told once through the outbox (and, when not everyone affected
is known, the public notice that reaches the others is recorded), and the officer marks each
report filed.

The run carries the incident's reference only; the customers and their addresses stay in the
app database and the customer master. Re-entrant: the incident's row says what is done, so a
run started again (after a kill, by recovery) goes on where it stood."""

from datetime import date

import pydantic
from prefect import flow
from prefect.artifacts import acreate_markdown_artifact
from prefect.runtime import flow_run

from flows.forms import Form, Required, choice, field, simple_form
from flows.waits import ask, one_client
from models.rules.leaks import REPORT_NAMES, Triage
from models.settings import Settings, get_settings
from services import incidents as service
from tasks.incidents import notify_subjects

IncidentTriage = simple_form("IncidentTriage", triage=choice("leak_triage", [t.value for t in Triage]))
PublicNotice = simple_form("PublicNotice", public_notice=Required)
ReportFiled = {
    report: pydantic.create_model(
        "ReportFiled", __base__=Form, filed_on=field("ReportFiled", "filed_on", date, report=name)
    )
    for report, name in REPORT_NAMES.items()
}


@flow(name="incident-response", flow_run_name="{reference}", log_prints=False)
@one_client
async def incident_response(reference: str) -> str:  # async: see flows/waits.py
    settings = get_settings()
    run = service.start_run(settings, reference, str(flow_run.id))
    if run.status == service.CLOSED:
        return run.status
    if run.status == service.REPORTED:
        await acreate_markdown_artifact(
            key=f"{reference.lower()}-triage",
            markdown=run.markdown,
            description=f"{reference}: 漏えい等事案の判定",
        )
        answer = await _ask(IncidentTriage, "incident-triage", run.markdown)
        service.triage_confirmed(
            settings, reference, Triage(answer.triage.code), actor=f"officer:{answer.actor}"
        )
    response = service.response(settings, reference)
    if response.reportable:
        notify_subjects(reference)  # everyone listed; those not known are reached by the public notice
        if response.public_notice_due:
            answer = await _ask(
                PublicNotice,
                "incident-public-notice",
                f"**{reference}**: 本人へ通知できない方がいるため、"
                "公表（代替措置）を行い、その内容を記録してください。",
            )
            service.public_notice_given(
                settings, reference, answer.public_notice, actor=f"officer:{answer.actor}"
            )
        for report in service.REPORTS:
            await _file(settings, reference, report)
    return service.finish(settings, reference)


async def _file(settings: Settings, reference: str, report: str) -> None:
    """The draft as artifact and files, then the officer's filing date (until it is given)."""
    draft = service.draft(settings, reference, report)
    await acreate_markdown_artifact(
        key=f"{reference.lower()}-{report}",
        markdown=draft.markdown,
        description=f"{reference}: {REPORT_NAMES[report]}の下書き",
    )
    if not draft.filed:
        answer = await _ask(
            ReportFiled[report],
            f"incident-{report}-filed",
            f"{draft.markdown}\n\nPDF・CSV: `madoguchi incident show {reference}`",
        )
        service.report_filed(settings, reference, report, answer.filed_on, actor=f"officer:{answer.actor}")


async def _ask(form: type[Form], key: str, description: str):
    """The officer's answer; a wait that timed out (two weeks) is asked again, on a new key."""
    timeouts = 0
    while (
        answer := await ask(form, who="officer", key=f"{key}-{timeouts}", description=description)
    ) is None:
        timeouts += 1
    return answer
