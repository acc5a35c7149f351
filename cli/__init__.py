"""``madoguchi``: the one command line for people and scripts (docs/contract.md "Command line")."""

import typer

from cli import (
    audit,
    contractor,
    data,
    demo,
    incident,
    inquiry,
    monitor,
    operator,
    policy,
    provision,
    register,
    request,
    secret,
)


def _local_prefect(ctx: typer.Context) -> None:
    """Operator decisions resume runs on the Prefect server `madoguchi up` runs, unless
    PREFECT_API_URL names another."""
    ctx.with_resource(request.local_prefect())


app = typer.Typer(no_args_is_help=True, help="madoguchi (窓口): the privacy-operations desk.")
app.add_typer(audit.app, name="audit")
app.add_typer(operator.app, name="operator", callback=_local_prefect)
app.add_typer(request.app, name="request")
app.add_typer(provision.app, name="provision", callback=_local_prefect)
app.add_typer(inquiry.app, name="inquiry", callback=_local_prefect)
app.add_typer(incident.app, name="incident")
app.add_typer(contractor.app, name="contractor", callback=_local_prefect)
app.add_typer(policy.app, name="policy", callback=_local_prefect)
app.add_typer(monitor.app, name="monitor")
app.add_typer(secret.app, name="secret")
app.add_typer(register.app, name="register")
app.command("migrate")(data.migrate)
app.command("seed")(data.seed)
app.command("systems")(data.systems)
app.command("up")(data.up)
app.command("demo")(demo.demo)
