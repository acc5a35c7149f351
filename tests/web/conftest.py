"""The intake service in-process (FastAPI's TestClient) over a migrated app database."""

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models.schema import upgrade
from web import api
from web.app import create_app

EXAMPLE = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "contract_example.json").read_text(encoding="utf-8")
)["customers"][0]


def body(**changes) -> dict:
    """A valid docs/contract.md request body for the example customer."""
    principal = {k: EXAMPLE[k] for k in ("name", "email", "phone", "company", "login_id")}
    return {
        "request_type": "disclosure",
        "language": "ja",
        "principal": principal,
        "details": {"scope": "注文履歴", "delivery": "electronic"},
        **changes,
    }


@pytest.fixture
def web_settings(settings):
    upgrade(settings)
    return settings


@pytest.fixture
def client(web_settings):
    api.limiter.__init__()  # each test starts with fresh rate-limit counters
    with TestClient(create_app(web_settings)) as client:
        yield client


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
