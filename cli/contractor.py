"""``madoguchi contractor``: a contractor (業務委託先) from application to offboarding.

Steps that start work (apply, reassess, offboard) record it through the services, then start
the contractor's run of the ``contractor-onboarding`` deployment, which goes on where the
contractor stands. The privacy officer's decisions (approve, certificate) answer the form the
waiting run shows in the Prefect UI, as the account logged in with ``--user`` (cli/login.py),
so the flow applies them as if they came from the UI."""

from pathlib import Path

import typer
from pydantic import ValidationError

from cli.cases import load, start_run
from cli.files import read_model
from cli.login import USER, answer_as, login, login_for
from deployments.registry import build_registry
from models.contractor_application import (
    CertificateIn,
    ContractorApplication,
    QuestionnaireIn,
)
from models.contractors import Contractor
from models.db import unit_of_work, utcnow
from models.rules.access import AccountRole
from models.settings import get_settings
from services import contractors as service

OFFICER_ONLY = frozenset({AccountRole.OFFICER})

app = typer.Typer(no_args_is_help=True, help="Contractors: application, approval, supervision, offboarding.")
DEPLOYMENT = "contractor-onboarding/contractor-onboarding"


def _load(reference: str) -> Contractor:
    return load(service.load_contractor, reference, "contractor")


def _start(reference: str, step: str) -> None:
    """The contractor's run for this step."""
    start_run(
        DEPLOYMENT,
        reference,
        f"{reference}:{step}",
        name=reference,
        again=f"madoguchi contractor start {reference}",
    )


def _answer(reference: str, user: str, form, **values) -> None:
    """Answer ``form`` of flows/contractor_inputs.py with ``values`` (choices by code) as ``user``."""
    from flows.forms import filled

    try:
        run_input = filled(form, **values)
    except ValidationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    answer_as(reference, _load(reference).flow_run_id, login(user), run_input)


@app.command()
def apply(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="An application as JSON (examples/contractor_application.json)"
    ),
) -> None:
    """Record an application and start its onboarding run; prints the reference."""
    data = read_model(file, ContractorApplication)
    settings = get_settings()
    try:
        with unit_of_work(settings) as session:
            reference = service.apply(
                session,
                settings,
                data,
                registry=build_registry(settings),
                now=utcnow(),
                actor="applicant:cli",
            )
    except service.ApplicationInvalid as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"reference  {reference}")
    _start(reference, "onboarding")


@app.command()
def start(reference: str) -> None:
    """Start (again) the run for the step the contractor is at; harmless if it has one."""
    row = _load(reference)
    _start(reference, f"{row.status}-{row.updated_at:%Y%m%d%H%M%S}")


@app.command("list")
def list_() -> None:
    """Every contractor: status, registry key, next reassessment, first certificate expiry."""
    with unit_of_work() as session:
        for s in service.summaries(session):
            typer.echo(
                f"{s.reference}  {s.status:<17} {s.system_key:<18} reassess {s.next_reassessment or '-':<10}  "
                f"cert {s.certification_expires or '-':<10}  {s.name}"
            )


@app.command()
def show(reference: str) -> None:
    """One contractor: what it may reach, where data goes, its assessments, its flow run."""
    row = _load(reference)
    with unit_of_work() as session:
        assessments = [
            (a.kind, a.score, a.verdict, a.blockers, a.missing_clauses, a.approved_by)
            for a in service.assessments(session, row)
        ]
    typer.echo(
        f"{row.reference}  {row.name}\nstatus      {row.status}\nsystem key  {service.system_key(reference)}"
    )
    typer.echo(f"systems     {', '.join(row.systems)}\ncategories  {', '.join(row.data_categories)}")
    typer.echo(
        f"countries   {', '.join(sorted({loc['country'] for loc in row.locations}))}"
        f"\nsubcontract {len(row.subcontractors)}\nflow run    {row.flow_run_id or '-'}"
    )
    for kind, score, verdict, blockers, missing, by in assessments:
        typer.echo(
            f"- {kind}: {score if score is not None else '-'} {verdict or 'pending'}"
            f"  blockers [{', '.join(blockers)}]  missing [{', '.join(missing)}]  by {by or '-'}"
        )


@app.command()
def approve(
    reference: str,
    reject: bool = typer.Option(False, help="Reject the contractor"),
    reason: str = typer.Option(
        "none", help="security_insufficient | contract_incomplete | data_not_necessary | other"
    ),
    user: str = USER,
) -> None:
    """The privacy officer's decision on an assessed contractor."""
    from flows.contractor_inputs import ContractorApproval

    _answer(reference, user, ContractorApproval, decision="reject" if reject else "approve", reason=reason)


@app.command()
def reassess(
    reference: str,
    report: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="The audit report: questionnaire answers as JSON"
    ),
    certificates: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="Renewed certifications as a JSON list"
    ),
    user: str = USER,
) -> None:
    """Reassess now, on an audit report (or on the last answers), and start the run that scores it."""
    from services.contractor_supervision import NotSupervised, request_reassessment

    caller = login_for(user, OFFICER_ONLY, "a reassessment")

    answers = read_model(report, QuestionnaireIn) if report else None
    certs = read_model(certificates, list[CertificateIn]) if certificates else None
    settings = get_settings()
    try:
        with unit_of_work(settings) as session:
            row_id = request_reassessment(
                session,
                settings,
                reference,
                now=utcnow(),
                actor=f"officer:{caller.name}",
                report=answers,
                certifications=certs,
            )
    except NotSupervised:
        typer.echo(f"{reference}: not a registered contractor", err=True)
        raise typer.Exit(1) from None
    _start(reference, f"reassessment-{row_id}")


@app.command()
def offboard(reference: str, user: str = USER) -> None:
    """End the contract: access is revoked at once; the run then waits for the deletion certificate."""
    from services.contractor_supervision import NotSupervised, revoke

    caller = login_for(user, OFFICER_ONLY, "offboarding a contractor")

    settings = get_settings()
    try:
        with unit_of_work(settings) as session:
            revoke(session, settings, reference, now=utcnow(), actor=f"officer:{caller.name}")
    except NotSupervised:
        typer.echo(f"{reference}: not a registered contractor", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{reference}: access revoked")
    _start(reference, "offboarding")


@app.command()
def certificate(
    reference: str,
    number: str = typer.Argument(..., help="The certificate's number"),
    returned: bool = typer.Option(False, help="The data was returned, not deleted"),
    user: str = USER,
) -> None:
    """Record the contractor's deletion (or return) certificate on its waiting run."""
    from flows.contractor_inputs import DeletionCertificate

    _answer(
        reference,
        user,
        DeletionCertificate,
        disposition="returned" if returned else "deleted",
        certificate=number,
    )
