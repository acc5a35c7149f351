"""The ``madoguchi`` command as a person or a script uses it."""

import json
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from cli import app
from models.db import unit_of_work
from models.ledgers import ProvisionRecord
from models.requests import Party, Request
from models.settings import get_settings

JST = ZoneInfo("Asia/Tokyo")
FIXTURE = Path(__file__).parent / "fixtures" / "contract_example.json"


@pytest.fixture
def madoguchi(tmp_path, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MADOGUCHI_SECRET_KEY", "cli-test")
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    yield run
    get_settings.cache_clear()


def test_up_seeds_once_and_shows_the_eight_systems(madoguchi):
    out = madoguchi("up", "--no-prefect")  # the orchestration itself: tests/deployments/test_walk.py
    assert "first run" in out
    for key in [
        "customers",
        "orders",
        "billing",
        "marketing",
        "points",
        "support",
        "analytics",
        "delivery_contractor",
    ]:
        assert key in out
    assert "first run" not in madoguchi("up", "--no-prefect")


def test_systems_json_lists_holdings_and_retention(madoguchi):
    madoguchi("seed", "--customers", "5")
    entries = {e["key"]: e for e in json.loads(madoguchi("systems", "--json"))}
    assert len(entries) == 8
    assert entries["billing"]["retention"]["years"] >= 7
    assert entries["delivery_contractor"]["contractor"]
    assert entries["customers"]["rows"]["customers"] == 5


def test_seed_fixture_fills_systems_and_app_database_once(madoguchi):
    madoguchi("seed", "--fixture", str(FIXTURE))
    first = json.loads(madoguchi("systems", "--json"))
    out = madoguchi("seed", "--fixture", str(FIXTURE))
    assert "0 provision records, 0 earlier requests" in out
    assert json.loads(madoguchi("systems", "--json")) == first
    rows = {e["key"]: e["rows"] for e in first}
    assert rows["orders"]["orders"] == 3 and rows["billing"]["invoices"] == 2
    with unit_of_work() as session:
        records = session.exec(select(ProvisionRecord)).all()
        assert [(r.recipient, r.items, r.basis) for r in records] == [
            ("株式会社配送パートナー", ["name", "phone"], "consent")
        ]
        assert records[0].keep_until.astimezone(JST).date() == date(2029, 4, 1)  # 3 years
        prior = session.exec(select(Request, Party).join(Party)).all()
        assert [(r.request_type.value, p.email) for r, p in prior] == [("disclosure", "taro@example.co.jp")]


def test_audit_verify_and_export(madoguchi, tmp_path):
    madoguchi("seed", "--fixture", str(FIXTURE))
    assert "intact" in madoguchi("audit", "verify")
    with unit_of_work() as session:
        reference = session.exec(select(Request.reference)).one()
    out_dir = tmp_path / "export"
    madoguchi("audit", "export", reference, "--out", str(out_dir))
    trail = json.loads((out_dir / f"{reference}-audit.json").read_text())
    assert [e["action"] for e in trail] == ["request.imported"]
    assert "taro" not in (out_dir / f"{reference}-audit.csv").read_text()
    madoguchi("audit", "export", "R-UNKNOWN", code=1)

    with unit_of_work() as session:
        session.execute(text("UPDATE audit_event SET actor = 'someone-else' WHERE seq = 1"))
    out = madoguchi("audit", "verify", code=1)
    assert "EDITED" in out and "#1" in out
