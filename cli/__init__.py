"""``madoguchi``: the one command line for people and scripts (CONTRACT.md "Command line")."""

import typer

from cli import audit, data, operator

app = typer.Typer(no_args_is_help=True, help="madoguchi (窓口): the privacy-operations desk.")
app.add_typer(audit.app, name="audit")
app.add_typer(operator.app, name="operator")
app.command("migrate")(data.migrate)
app.command("seed")(data.seed)
app.command("systems")(data.systems)
app.command("up")(data.up)
