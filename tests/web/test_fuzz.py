"""Fuzzing the intake service: schemathesis over every operation of ``/openapi.json`` (valid
and invalid data), hypothesis over the HTML form and the JSON submission.

What must hold: never a 5xx; every bad input a 4xx (field-level errors on a 422, the input
not echoed back); and nothing half-written — a rejected submission leaves the requests,
parties, notices and audit events of the app database exactly as they were. Rate limits are
raised so that the fuzzing measures validation, not the limiter (the limits have tests of
their own in test_api.py)."""

import json
import re

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
)

from models.db import unit_of_work, utcnow
from models.requests import RequestCreate
from models.schema import upgrade
from models.settings import Settings, get_settings
from services import intake
from tests.postgres import create_database
from tests.web.conftest import body, csrf_of
from tests.web.strategies import ODD_TEXT
from tests.web.support import row_counts
from web import api
from web.app import create_app

FUZZ = settings(
    max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
SUBMISSIONS = {"/api/requests", "/api/inquiries"}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fuzz_settings(request, tmp_path_factory) -> Settings:
    """The embedded default (SQLite) and production mode (PostgreSQL, which refuses what SQLite
    takes, e.g. a NUL character in text)."""
    database = {}
    if request.param == "postgres":
        database["database_url"] = create_database(request.getfixturevalue("pg_server"), "fuzz")
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz"),
        secret_key="test-secret",
        intake_rate_per_client=1_000_000,
        intake_rate_per_email=1_000_000,
        **database,
    )
    upgrade(settings)
    return settings


# The schema is read once, at import, from an app without settings (reading it touches no
# database); the fixture below points that app at the module's own database.
APP = create_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def fuzz_app(fuzz_settings):
    api.limiter.__init__()
    APP.dependency_overrides[get_settings] = lambda: fuzz_settings
    yield APP
    APP.dependency_overrides.clear()


@pytest.fixture(scope="module")
def fuzz_client(fuzz_app):
    with TestClient(fuzz_app, raise_server_exceptions=False) as client:
        yield client


def fresh_request(settings) -> tuple[str, str]:
    """A request just submitted (reference, status token): the {reference} operations are
    fuzzed against a real one half the time, so that they get past the token check."""
    with unit_of_work(settings) as session:
        done = intake.submit(session, settings, RequestCreate.model_validate(body()), now=utcnow())
    return done.reference, done.status_token


@schema.parametrize()
@schema.given(real=st.booleans())
@FUZZ
def test_openapi_operations(case, real, fuzz_app, fuzz_settings):
    if "{reference}" in case.path and real:
        reference, token = fresh_request(fuzz_settings)
        case.path_parameters = {**(case.path_parameters or {}), "reference": reference}
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    before = row_counts(fuzz_settings)
    response = case.call()
    # status_code_conformance is left out: a body that is not JSON at all gets FastAPI's 400,
    # a clear 4xx that the schema does not list
    case.validate_response(
        response, checks=[not_a_server_error, negative_data_rejection, content_type_conformance]
    )
    assert response.status_code < 500, response.text
    if case.path in SUBMISSIONS and case.method == "POST":
        if response.status_code >= 400:
            assert row_counts(fuzz_settings) == before, f"rejected ({response.status_code}) but written"
        if response.status_code == 422:
            assert_field_errors(response.json())
    if response.status_code == 422 and case.path != "/webhooks/sendgrid":
        assert isinstance(response.json()["detail"], list)


def assert_field_errors(answer: dict) -> None:
    assert answer["detail"], answer
    for error in answer["detail"]:
        assert error["field"] and error["msg"], error
        assert "input" not in error and "ctx" not in error, "the input is echoed back"


# --- the JSON submission, mutated from a valid body -----------------------------------------

ODD_VALUE = st.one_of(
    ODD_TEXT,
    ODD_TEXT,
    ODD_TEXT,
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.just(_DROP := object()),
)
PATHS = [
    ("request_type",),
    ("language",),
    ("principal",),
    ("principal", "name"),
    ("principal", "email"),
    ("principal", "phone"),
    ("principal", "company"),
    ("principal", "login_id"),
    ("principal", "extra"),
    ("requester",),
    ("requester", "role"),
    ("requester", "email"),
    ("requester", "name"),
    ("requester", "phone"),
    ("details",),
    ("details", "scope"),
    ("details", "delivery"),
    ("details", "postal_address"),
    ("details", "corrections"),
    ("details", "grounds"),
    ("details", "ground_codes"),
    ("details", "include_third_party_records"),
    ("unexpected",),
]
AGENT = {"role": "appointed_agent", "name": "代理 花子", "email": "hanako@example.jp"}


def mutate(data: dict, path: tuple, value) -> dict:
    data = json.loads(json.dumps(data))
    target = data
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    if value is _DROP:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return data


@given(
    agent=st.booleans(),
    changes=st.lists(st.tuples(st.sampled_from(PATHS), ODD_VALUE), min_size=1, max_size=2),
)
@example(agent=False, changes=[(("principal", "name"), "山田\x00太郎")])
@example(agent=True, changes=[(("details", "scope"), "\x00")])
@example(agent=False, changes=[(("request_type",), "correction")])
@settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_json_submission_never_half_written(agent, changes, fuzz_client, fuzz_settings):
    data = body(requester=AGENT) if agent else body()
    for path, value in changes:
        data = mutate(data, path, value)
    before = row_counts(fuzz_settings)
    response = fuzz_client.post("/api/requests", json=data)
    event(f"answered {response.status_code}")
    assert response.status_code in (201, 422), (response.status_code, response.text[:500])
    if response.status_code == 201:
        assert row_counts(fuzz_settings) != before
        RequestCreate.model_validate(data)  # only a valid body is taken
        return
    assert row_counts(fuzz_settings) == before, "rejected but written"
    assert_field_errors(response.json())
    for _, value in changes:  # no value of any length echoed back
        if isinstance(value, str) and len(value.strip()) >= 12:
            assert value not in response.text


# --- the HTML form --------------------------------------------------------------------------

VALID_FORM = {
    "request_type": "disclosure",
    "principal_name": "山田 太郎",
    "principal_email": "taro@example.co.jp",
    "principal_phone": "03-1234-5678",
    "principal_company": "株式会社サンプル",
    "principal_login_id": "A1234567",
    "role": "principal",
    "scope": "注文履歴",
    "delivery": "electronic",
}
FORM_VALUES = {
    "request_type": st.one_of(
        st.sampled_from(
            ["erasure", "correction", "purpose_notification", "suspension", "stop_third_party_provision"]
        ),
        ODD_TEXT,
    ),
    "role": st.one_of(st.sampled_from(["legal_representative", "appointed_agent"]), ODD_TEXT),
    "requester_email": st.one_of(st.just("agent@example.jp"), ODD_TEXT),
    "include_third_party_records": st.sampled_from(["on", "", "off", "１"]),
    "delivery": st.one_of(st.just("postal"), ODD_TEXT),
    "language": st.sampled_from(["ja", "en", "fr", ""]),
}
TEXT_FIELDS = [
    "principal_name",
    "principal_email",
    "principal_phone",
    "principal_company",
    "principal_login_id",
    "requester_name",
    "requester_phone",
    "scope",
    "postal_address",
    "correction_field",
    "correction_current",
    "correction_requested",
    "grounds",
]
FORM_FIELDS = [*FORM_VALUES, *TEXT_FIELDS]
# where the error of one changed field may show: on itself, or on the field it makes necessary
CORRECTION = {"correction_field", "correction_current", "correction_requested"}
RELATED = {
    "request_type": {"correction_requested"},
    "role": {"requester_name", "requester_email"},
    "delivery": {"postal_address"},
    **dict.fromkeys(CORRECTION, CORRECTION),
}
ERROR_ID = re.compile(r'<p class="error" id="([a-z_]+)-error">([^<]+)</p>')


@st.composite
def form_changes(draw) -> dict:
    names = draw(st.lists(st.sampled_from(FORM_FIELDS), min_size=1, max_size=3, unique=True))
    return {name: draw(FORM_VALUES.get(name, ODD_TEXT)) for name in names}


@given(
    changes=form_changes(),
    grounds=st.lists(st.one_of(st.sampled_from(["unlawful_use", "leak_occurred"]), ODD_TEXT), max_size=2),
)
@example(changes={"role": "boss"}, grounds=[])
@example(changes={"request_type": "nope"}, grounds=[])
@example(changes={"principal_name": "山田\x00太郎"}, grounds=[])
@settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_html_form_never_half_written(changes, grounds, fuzz_client, fuzz_settings):
    page = fuzz_client.get("/")
    fields = {**VALID_FORM, **changes}
    before = row_counts(fuzz_settings)
    response = fuzz_client.post(
        "/", data={**fields, "csrf_token": csrf_of(page.text), "ground_codes": grounds}
    )
    event(f"answered {response.status_code}")
    assert response.status_code in (200, 422), (response.status_code, response.text[:500])
    if response.status_code == 200:
        assert 'id="reference"' in response.text and row_counts(fuzz_settings) != before
        return
    assert row_counts(fuzz_settings) == before, "rejected but written"
    shown = dict(ERROR_ID.findall(response.text))
    assert shown, "a rejected form must say which field is wrong"
    for name in shown:  # each error belongs to a field of the form
        assert f'name="{name}"' in response.text, name
    if len(changes) == 1 and not grounds:
        [(name, _)] = changes.items()
        assert set(shown) & ({name} | RELATED.get(name, set())), (name, shown)
    for name, value in fields.items():  # nothing typed is lost (text fields come back as typed)
        if name in TEXT_FIELDS and name not in ("scope", "grounds"):
            assert f'value="{_escaped(value)}"' in response.text, name
        elif name in ("scope", "grounds"):
            assert f">{_escaped(value)}</textarea>" in response.text, name


def _escaped(value: str) -> str:
    from markupsafe import escape

    return str(escape(value))
