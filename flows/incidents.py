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
from models.db import unit_of_work, utcnow
from models.rules.leaks import REPORT_NAMES, NoticeMethod, Triage
from models.settings import get_settings
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
    with unit_of_work(settings) as session:
        service.remember_run(session, reference, str(flow_run.id))
        incident = service.load_incident(session, reference)
        status, markdown = incident.status, service.summary_markdown(session, incident)
    if status == service.CLOSED:
        return status
    if status == service.REPORTED:
        await acreate_markdown_artifact(
            key=f"{reference.lower()}-triage",
            markdown=markdown,
            description=f"{reference}: 漏えい等事案の判定",
        )
        answer = await _ask(IncidentTriage, "incident-triage", markdown)
        with unit_of_work(settings) as session:
            service.confirm(
                session,
                settings,
                reference,
                Triage(answer.triage.code),
                actor=f"officer:{answer.actor}",
                now=utcnow(),
            )
    with unit_of_work(settings) as session:
        incident = service.load_incident(session, reference)
        reportable, method, public_notice = (
            incident.reportable,
            incident.notice_method,
            incident.public_notice,
        )
    if reportable:
        notify_subjects(reference)  # everyone listed; those not known are reached by the public notice
        if method == NoticeMethod.PUBLIC_NOTICE and not public_notice:
            answer = await _ask(
                PublicNotice,
                "incident-public-notice",
                f"**{reference}**: 本人へ通知できない方がいるため、"
                "公表（代替措置）を行い、その内容を記録してください。",
            )
            with unit_of_work(settings) as session:
                service.record_public_notice(
                    session,
                    settings,
                    reference,
                    answer.public_notice,
                    actor=f"officer:{answer.actor}",
                    now=utcnow(),
                )
        for report in service.REPORTS:
            await _file(settings, reference, report)
    with unit_of_work(settings) as session:
        service.close(session, settings, reference, now=utcnow())
    return service.CLOSED


async def _file(settings, reference: str, report: str) -> None:
    """The draft as artifact and files, then the officer's filing date (until it is given)."""
    with unit_of_work(settings) as session:
        service.write_reports(session, settings, reference)
        incident = service.load_incident(session, reference)
        markdown, filed = (
            service.report_markdown(session, incident, report),
            getattr(incident, f"{report}_filed_on"),
        )
    await acreate_markdown_artifact(
        key=f"{reference.lower()}-{report}",
        markdown=markdown,
        description=f"{reference}: {REPORT_NAMES[report]}の下書き",
    )
    if filed is None:
        answer = await _ask(
            ReportFiled[report],
            f"incident-{report}-filed",
            f"{markdown}\n\nPDF・CSV: `madoguchi incident show {reference}`",
        )
        with unit_of_work(settings) as session:
            service.mark_filed(
                session,
                settings,
                reference,
                report,
                answer.filed_on,
                actor=f"officer:{answer.actor}",
                now=utcnow(),
            )


async def _ask(form: type[Form], key: str, description: str):
    """The officer's answer; a wait that timed out (two weeks) is asked again, on a new key."""
    timeouts = 0
    while (
        answer := await ask(form, who="officer", key=f"{key}-{timeouts}", description=description)
    ) is None:
        timeouts += 1
    return answer
