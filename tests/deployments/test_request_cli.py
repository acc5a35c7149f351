"""`madoguchi request` without Prefect: a bad body is refused field by field (exit 2); a good
one is committed pending dispatch; status shows no personal data."""

import json
from pathlib import Path

from typer.testing import CliRunner

from cli import app
from models.db import unit_of_work
from models.settings import get_settings
from services import dispatch

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "request.json"


def test_submit_validates_per_field_then_status_shows_no_personal_data(tmp_path, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MADOGUCHI_SECRET_KEY", "request-cli-test")
    get_settings.cache_clear()
    runner = CliRunner()
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "request_type": "disclosure",
                "principal": {"name": "", "email": "nope"},
                "details": {"delivery": "fax"},
            }
        )
    )
    result = runner.invoke(app, ["request", "submit", str(bad)])
    assert result.exit_code == 2
    for field in ("principal.name", "principal.email", "details.delivery"):
        assert field in result.output
    runner.invoke(app, ["migrate"])
    result = runner.invoke(app, ["request", "submit", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    reference = result.output.split()[1]
    with unit_of_work() as session:
        assert dispatch.pending(session) == [reference]
    status = runner.invoke(app, ["request", "status", reference, "--json"])
    shown = json.loads(status.output)
    assert shown["status"] == "received" and shown["flow_run"] is None
    assert "山田" not in status.output and "taro@" not in status.output
    assert runner.invoke(app, ["request", "status", "R-000000-AAAAAA"]).exit_code == 1
    get_settings.cache_clear()
