"""Issue 12 §1: operator accounts from the command line, hashed with argon2, every change
audited, a password never an argument."""

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cli import app
from models.audit import AuditEvent
from models.db import unit_of_work
from models.operators import OperatorAccount
from models.schema import upgrade
from models.settings import get_settings
from services import accounts

PASSWORD = "correct horse battery staple"


@pytest.fixture
def operator_cli(tmp_path, monkeypatch):
    """``madoguchi operator …`` on a migrated app database of its own; ``input`` is stdin."""
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MADOGUCHI_SECRET_KEY", "accounts-test")
    get_settings.cache_clear()
    upgrade(get_settings())
    runner = CliRunner()

    def run(*args: str, input: str | None = None, code: int = 0) -> str:
        result = runner.invoke(app, ["operator", *args], input=input)
        assert result.exit_code == code, result.output
        return result.output

    yield run
    get_settings.cache_clear()


def _account(name: str) -> OperatorAccount:
    with unit_of_work() as session:
        return session.exec(select(OperatorAccount).where(OperatorAccount.name == name)).one()


def _trail() -> list[AuditEvent]:
    with unit_of_work() as session:
        return list(
            session.exec(
                select(AuditEvent).where(AuditEvent.subject_ref.like("account:%")).order_by(AuditEvent.seq)
            )
        )


def test_add_list_disable_password_each_audited(operator_cli, tmp_path):
    operator_cli("add", "sato", "--role", "operator", input=PASSWORD + "\n")
    secret = tmp_path / "officer.txt"
    secret.write_text("another long passphrase\n")
    operator_cli("add", "suzuki", "--role", "officer", "--password-file", str(secret))

    listed = operator_cli("list")
    assert "sato" in listed and "suzuki" in listed and "officer" in listed and "disabled" not in listed

    with unit_of_work() as session:
        assert accounts.authenticate(session, "sato", PASSWORD).role == "operator"
        assert accounts.authenticate(session, "suzuki", "another long passphrase").role == "officer"
        assert accounts.authenticate(session, "sato", "wrong password!!") is None
        assert accounts.authenticate(session, "nobody", PASSWORD) is None
    assert _account("sato").password_hash.startswith("$argon2id$")

    operator_cli("password", "sato", input="a brand new passphrase\n")
    with unit_of_work() as session:
        assert accounts.authenticate(session, "sato", PASSWORD) is None
        assert accounts.authenticate(session, "sato", "a brand new passphrase") is not None

    assert "disabled" in operator_cli("disable", "sato")
    assert "already" in operator_cli("disable", "sato")
    assert "disabled" in operator_cli("list")
    with unit_of_work() as session:
        assert accounts.authenticate(session, "sato", "a brand new passphrase") is None

    trail = _trail()
    assert [(e.action, e.subject_ref) for e in trail] == [
        ("account.added", "account:sato"),
        ("account.added", "account:suzuki"),
        ("account.password_changed", "account:sato"),
        ("account.disabled", "account:sato"),
    ]
    assert all(e.actor.startswith("cli:") for e in trail)
    assert trail[1].details == {"role": "officer"}
    for event in trail:  # neither the password nor its hash is in the trail
        assert PASSWORD not in str(event.details) and "argon2" not in str(event.details)


def test_bad_input_is_refused_by_field_and_changes_nothing(operator_cli):
    out = operator_cli("add", "Sato San", "--role", "operator", input="short\n", code=2)
    assert "name:" in out and "password:" in out
    operator_cli("add", "sato", "--role", "root", input=PASSWORD + "\n", code=2)  # no such role
    operator_cli("add", "sato", "--role", "operator", input=PASSWORD + "\n")
    assert "exists" in operator_cli("add", "sato", "--role", "admin", input=PASSWORD + "\n", code=2)
    assert "password:" in operator_cli("password", "sato", input="sato-password-1\n", code=2)
    assert "no such account" in operator_cli("disable", "nobody", code=1)
    assert "no such account" in operator_cli("password", "nobody", input=PASSWORD + "\n", code=1)
    assert [e.action for e in _trail()] == ["account.added"]


def test_a_password_is_never_an_argument(operator_cli):
    """There is no --password option: a password typed as an argument would stay in the
    shell's history and show in the process list."""
    out = operator_cli("add", "sato", "--role", "operator", "--password", PASSWORD, code=2)
    assert "No such option" in out
    assert "account.added" not in [e.action for e in _trail()]
