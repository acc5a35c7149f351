"""``madoguchi demo``: one request walked to its notice on the system ``madoguchi up`` runs, as
its people would: the requester through the intake API and their inbox (the SendGrid stub),
the operator and the privacy officer through the same resume API as the Prefect UI's forms,
as the demo's own accounts (``demo-operator``, ``demo-officer``) and checked by the same
rules as the command line's decisions (cli/login.py). Every step is printed with where to
watch it in the Prefect UI."""

import secrets
import time
from pathlib import Path

import httpx
import typer

from cli.files import read_json, validated
from cli.login import Refused, decide
from cli.operator import review_input
from demo import inbox
from flows import inputs
from flows.forms import filled
from models.db import unit_of_work, utcnow
from models.requests import RequestCreate
from models.rules.access import AccountRole
from models.settings import get_settings
from services import accounts
from services.accounts import Caller
from services.common import load_request

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE_SUBJECT = PROJECT / "tests" / "fixtures" / "contract_example.json"  # 山田 太郎 of docs/contract.md
EXAMPLE_REQUEST = PROJECT / "examples" / "request.json"
PEOPLE = {"demo-operator": AccountRole.OPERATOR, "demo-officer": AccountRole.OFFICER}


def _step(text: str) -> None:
    typer.secho(f"▶ {text}", fg=typer.colors.CYAN)


def _flow_run(reference: str) -> str | None:
    with unit_of_work() as session:
        return load_request(session, reference).flow_run_id


def _people() -> dict[str, Caller]:
    """The demo's operator and officer: added with a random password (printed, to log in to
    the Prefect UI as them) when missing, as they are when present."""
    settings = get_settings()
    people = {}
    for name, role in PEOPLE.items():
        with unit_of_work(settings) as session:
            account = accounts.find(session, name)
            if account is None:
                password = secrets.token_urlsafe(18)
                account = accounts.add(session, settings, name, role, password, actor="demo", now=utcnow())
                typer.echo(f"  account {name} ({role}) added, password {password}")
            if not account.enabled:
                typer.echo(f"the demo's account {name} is disabled", err=True)
                raise typer.Exit(1)
            people[str(role)] = Caller(account.name, AccountRole(account.role))
    return people


def _resume(reference: str, caller: Caller, run_input: dict) -> bool:
    """Answer the waiting run's form as ``caller``; False while the run has not reached the
    form yet. A refusal by the rules ends the demo."""
    from cli.request import local_prefect

    try:
        with local_prefect():
            decide(caller, _flow_run(reference), run_input)
        return True
    except Refused as exc:
        typer.echo(f"{reference}: {caller.name} refused: {exc}", err=True)
        raise typer.Exit(1) from None
    except RuntimeError:  # not waiting, or waiting for another form than this one (yet)
        return False


def demo(
    request_file: Path = typer.Option(
        EXAMPLE_REQUEST,
        "--request",
        exists=True,
        dir_okay=False,
        help="The request body to submit (docs/contract.md)",
    ),
    timeout: float = typer.Option(180, help="Give up after this many seconds"),
) -> None:
    """Submit a sample request and walk it, step by step, to its decision notice (needs
    `madoguchi up` running)."""
    from cli.data import seed

    body = read_json(request_file)
    validated(body, RequestCreate)  # a bad file is refused here, not by the intake halfway through
    settings = get_settings()
    intake = f"http://127.0.0.1:{settings.intake_port}"
    stub = f"http://127.0.0.1:{settings.mail_stub_port}"
    ui = settings.prefect_ui_url
    try:
        httpx.get(f"{intake}/healthz", timeout=3).raise_for_status()
    except httpx.HTTPError:
        typer.echo(f"the intake service does not answer at {intake}: start `madoguchi up` first", err=True)
        raise typer.Exit(1) from None

    _step("the example customer 山田 太郎 goes into the demo systems (loading twice adds nothing)")
    seed(customers=200, fixture=EXAMPLE_SUBJECT, random_seed=0)
    _step("the operator and the privacy officer decide as the demo's accounts")
    people = _people()
    _step(f"the requester submits a {body['request_type']} request: POST {intake}/api/requests")
    answer = httpx.post(f"{intake}/api/requests", json=body, timeout=10)
    if answer.status_code != 201:
        typer.echo(f"not accepted ({answer.status_code}): {answer.text}", err=True)
        raise typer.Exit(1)
    reference, token = answer.json()["reference"], answer.json()["status_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    typer.echo(f"  reference {reference}, status token {token}")
    typer.echo(f"  status page: {intake}/status?reference={reference} (the token is asked there)")

    done: set[str] = set()
    shown = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = httpx.get(f"{intake}/api/requests/{reference}", headers=bearer, timeout=10).json()
        state = (view["status"], view["waiting_for"])
        if state != shown:
            shown = state
            typer.echo(
                f"  status: {view['status']}"
                + (f" (waiting for {view['waiting_for']})" if view["waiting_for"] else "")
            )
        if "run" not in done and (run_id := _flow_run(reference)):
            done.add("run")
            _step(f"the dispatcher started its flow run: {ui}/runs/flow-run/{run_id}")
        if view["status"] in ("completed", "refused", "closed", "withdrawn"):
            break
        _act(view, reference, intake, stub, bearer, done, people)
        time.sleep(0.5)
    else:
        typer.echo(f"{reference}: not finished after {timeout:.0f} s; see {ui}", err=True)
        raise typer.Exit(1)
    _ending(view, reference, stub)


def _act(
    view: dict,
    reference: str,
    intake: str,
    stub: str,
    bearer: dict,
    done: set[str],
    people: dict[str, Caller],
) -> None:
    """The next person's move, once each."""
    waiting, status = view["waiting_for"], view["status"]
    if waiting == "one_time_code" and "code" not in done and (code := inbox.latest_code(stub, reference)):
        _step(f"the code mail reached the inbox ({stub}/messages); the requester enters {code}")
        result = httpx.post(
            f"{intake}/api/requests/{reference}/identity-code",
            json={"code": code},
            headers=bearer,
            timeout=10,
        ).json()
        typer.echo(f"  → {result.get('result')}")
        done.add("code")
    elif status == "review" and "review" not in done:
        try:
            answer = review_input(reference, [], "")
        except LookupError:
            return  # the pre-screen has not proposed yet
        if _resume(reference, people["operator"], answer):
            _step("the operator confirms the pre-screen's proposal on the review form (Resume in the UI)")
            done.add("review")
    elif status == "awaiting_approval" and "approval" not in done:
        if _resume(reference, people["officer"], filled(inputs.Approval, approve="approve")):
            _step("the privacy officer signs off the refusal")
            done.add("approval")
    elif (
        waiting == "payment"
        and "payment" not in done
        and _resume(
            reference, people["operator"], filled(inputs.Payment, paid="paid", method="bank_transfer")
        )
    ):
        _step(f"the fee of ¥{view['fee']['amount_yen']:,} is paid; the operator confirms it")
        done.add("payment")


def _ending(view: dict, reference: str, stub: str) -> None:
    _step(
        f"{reference} {view['status']}: outcome {view['outcome'] or '-'}"
        + (f", reasons {', '.join(r['code'] for r in view['reasons'])}" if view["reasons"] else "")
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        decision = [m for m in inbox.messages(stub, reference) if inbox.kind_of(m) == "decision"]
        if decision:
            typer.echo(f"\n--- the decision notice, as the requester reads it: {decision[-1]['subject']}")
            typer.echo(inbox.text_of(decision[-1]).strip())
            kinds = [inbox.kind_of(m) for m in inbox.messages(stub, reference)]
            typer.echo(f"\nmail for {reference}: {', '.join(kinds)}  ({stub}/messages)")
            return
        time.sleep(0.5)
    typer.echo("the decision notice has not reached the inbox yet", err=True)
