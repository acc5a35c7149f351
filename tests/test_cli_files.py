"""Files given to the ``madoguchi`` command: a fixture provision without a basis loads as one
without consent; a bad file of any command is refused with a message naming the place (the
customer and the field for a fixture), exit code 2, never a traceback."""

import json
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cli import app
from models.db import unit_of_work
from models.ledgers import ProvisionRecord
from models.rules.provision import is_lawful_record
from models.settings import get_settings

FIXTURE = Path(__file__).parent / "fixtures" / "contract_example.json"
TARO = json.loads(FIXTURE.read_text())["customers"][0]
HANAKO = {"email": "hanako@example.co.jp", "name": "佐藤 花子"}


@pytest.fixture
def madoguchi(tmp_path, monkeypatch):
    """``madoguchi …`` on a fresh data folder: the CliRunner's result."""
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MADOGUCHI_SECRET_KEY", "cli-files-test")
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, [str(a) for a in args])
    get_settings.cache_clear()


def _file(tmp_path, content, name="input.json") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False))
    return path


def _refused(result, *expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not an error escaping
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.output, result.output


def test_a_provision_without_a_basis_loads_as_one_without_consent(madoguchi, tmp_path):
    provisions = [
        {"recipient": "株式会社名簿業者", "items": ["name"], "provided_at": "2026-05-01"},
        {"recipient": "株式会社リスト", "basis": None, "provided_at": "2026-06-01"},
    ]
    result = madoguchi(
        "seed", "--fixture", _file(tmp_path, {"customers": [{**TARO, "third_party_provisions": provisions}]})
    )
    assert result.exit_code == 0, result.output
    with unit_of_work() as session:
        records = session.exec(select(ProvisionRecord).order_by(ProvisionRecord.provided_at)).all()
    assert [(r.recipient, r.basis) for r in records] == [("株式会社名簿業者", None), ("株式会社リスト", None)]
    assert not any(is_lawful_record(r.basis) for r in records)


@pytest.mark.parametrize(
    "hanako, place",
    [
        (
            {**HANAKO, "third_party_provisions": [{"recipient": "株式会社X", "provided_at": "last spring"}]},
            "customer 2 (hanako@example.co.jp), third_party_provisions.0.provided_at",
        ),
        ({**HANAKO, "records": {"orders": -1}}, "customer 2 (hanako@example.co.jp), records"),
        ({**HANAKO, "records": {"warehouse": 1}}, "customer 2 (hanako@example.co.jp), records"),
        (
            {**HANAKO, "account_closed_at": "2024-02-30"},
            "customer 2 (hanako@example.co.jp), account_closed_at",
        ),
        ({"email": "hanako@example.co.jp"}, "customer 2 (hanako@example.co.jp), name"),
        ({"name": "佐藤 花子"}, "customer 2, email"),
        (
            {**HANAKO, "login_id": TARO["login_id"]},
            "customers: Value error, customers 1 and 2 have the same login_id",
        ),
    ],
)
def test_a_bad_fixture_names_the_customer_and_the_field(madoguchi, tmp_path, hanako, place):
    result = madoguchi("seed", "--fixture", _file(tmp_path, {"customers": [TARO, hanako]}))
    _refused(result, place)
    with unit_of_work() as session:
        assert session.exec(select(ProvisionRecord)).all() == []  # nothing loaded


def test_a_login_another_customer_has_is_refused_before_anything_is_loaded(madoguchi, tmp_path):
    assert madoguchi("seed", "--fixture", FIXTURE).exit_code == 0
    taken = _file(
        tmp_path,
        {"customers": [HANAKO, {**HANAKO, "email": "jiro@example.co.jp", "login_id": TARO["login_id"]}]},
    )
    _refused(
        madoguchi("seed", "--fixture", taken),
        "customer 2 (jiro@example.co.jp), login_id: another customer already has this login",
    )
    entries = {e["key"]: e for e in json.loads(madoguchi("systems", "--json").output)}
    assert entries["customers"]["rows"]["customers"] == 1  # 花子 was not loaded either


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"customers": [', "not JSON"),
        ("山田".encode("shift_jis"), "not UTF-8 text"),
        ([TARO], "(body): Input should be a valid dictionary"),
    ],
)
def test_a_file_that_is_not_a_fixture_is_refused(madoguchi, tmp_path, content, message):
    _refused(madoguchi("seed", "--fixture", _file(tmp_path, content)), message)


@pytest.mark.parametrize(
    "command, json_file",
    [
        (("request", "submit"), True),
        (("provision", "request", "--user", "sato"), True),
        (("request", "enter", "--channel", "post", "--received", "2026-12-01", "--user", "sato"), True),
        (("contractor", "apply"), True),
        (("demo", "--request"), True),
        (("incident", "report", "--user", "sato"), True),
        (("operator", "add", "someone", "--role", "operator", "--password-file"), False),
        (("policy", "propose", "--user", "sato"), False),
    ],
)
def test_every_command_that_reads_a_file_refuses_a_bad_one(madoguchi, tmp_path, command, json_file):
    _refused(madoguchi(*command, _file(tmp_path, b"\xff\xfe{")), "not UTF-8 text")
    if json_file:
        _refused(madoguchi(*command, _file(tmp_path, "{'request_type': 1}")), "input.json: not JSON")
        _refused(madoguchi(*command, _file(tmp_path, [])), "(body): Input should be a valid dictionary")
