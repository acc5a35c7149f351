"""The property issue 11 asks for: every body ``POST /api/requests`` accepts reaches a final
status under autopilot. Hypothesis generates the bodies (all request types and roles, the
example customer, a stranger, a customer giving the wrong login id, odd text from the intake's
fuzz tests); each accepted one gets its lifecycle run, in-process on Prefect's test server, and
a simulated requester who acts as a real one through the same API: enters the code from the
mail when asked for one, uploads what the mail asks for when asked for documents."""

import time

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlmodel import select

from demo import inbox
from models.db import unit_of_work, utcnow
from models.fulfilment import Notice
from models.letters import Letter
from models.rules.vocabulary import FINAL_STATUSES, GroundCode, RequestType
from models.settings import get_settings
from services import letters
from services.common import load_request
from tests.flows.conftest import PRINCIPAL, Run
from tests.web.strategies import ODD_TEXT
from web import api
from web.actions import wake_run
from web.app import create_app

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
FINAL = {str(s) for s in FINAL_STATUSES}
SECONDS_TO_FINISH = 45


# mostly what a requester would type, odd text now and then (most of it is refused, a 422)
def typed(*usual: str):
    return st.one_of(st.sampled_from(usual), st.sampled_from(usual), st.sampled_from(usual), ODD_TEXT)


# who the request is about: the example customer, the same with a login id that is not theirs
# (identity fails), a stranger the systems do not know (nothing held)
principals = st.one_of(
    st.just(PRINCIPAL),
    st.just({**PRINCIPAL, "login_id": "Z9999999"}),
    st.builds(
        lambda name, email: {"name": name, "email": email},
        typed("見知らぬ 人", "John Smith"),
        st.one_of(st.emails(), st.just("山田@例え.jp")),
    ),
)
requesters = st.one_of(
    st.none(),
    st.just({"role": "principal", "name": PRINCIPAL["name"], "email": PRINCIPAL["email"]}),
    st.builds(
        lambda role, name, email: {"role": role, "name": name, "email": email},
        st.sampled_from(["legal_representative", "appointed_agent"]),
        typed("代理 花子"),
        st.one_of(st.just("agent@example.jp"), st.emails()),
    ),
)
corrections = st.lists(
    st.fixed_dictionaries(
        {
            "field": typed(
                "phone", "email", "name", "company", "login_id", "delivery_address", "billing_address"
            ),
            "requested": typed("090-8765-4321", "新しい 名前", "new@example.jp"),
        },
        optional={"current": typed(PRINCIPAL["phone"], PRINCIPAL["name"])},
    ),
    max_size=3,
)
details = st.fixed_dictionaries(
    {},
    optional={
        "scope": typed("注文履歴"),
        "grounds": typed("退会したため"),
        "include_third_party_records": st.booleans(),
        "delivery": st.sampled_from(["electronic", "postal"]),
        "postal_address": typed("東京都江東区豊洲3-2-3"),
        "corrections": corrections,
        "ground_codes": st.lists(st.sampled_from(list(GroundCode)), max_size=3),
    },
)
bodies = st.builds(
    lambda request_type, language, principal, requester, details: {
        "request_type": request_type,
        "language": language,
        "principal": principal,
        "details": details,
        **({"requester": requester} if requester else {}),
    },
    st.sampled_from(list(RequestType)),
    st.sampled_from(["ja", "en"]),
    principals,
    requesters,
    details,
)


@pytest.fixture
def intake(autopilot, monkeypatch):
    """The intake service on the autopilot desk, its limits raised: the test measures the
    lifecycle, not the limiter."""
    monkeypatch.setenv("MADOGUCHI_INTAKE_RATE_PER_CLIENT", "1000000")
    monkeypatch.setenv("MADOGUCHI_INTAKE_RATE_PER_EMAIL", "1000000")
    get_settings.cache_clear()
    settings = get_settings()
    api.limiter.__init__()
    with TestClient(create_app(settings)) as client:
        yield settings, client


AGENT = {"name": "代理 花子", "email": "agent@example.jp"}


@given(body=bodies)
@example(
    body={
        "request_type": "disclosure",
        "principal": PRINCIPAL,
        "requester": {"role": "appointed_agent", **AGENT},
    }
)
@example(
    body={
        "request_type": "erasure",
        "principal": PRINCIPAL,
        "language": "en",
        "requester": {"role": "legal_representative", **AGENT},
        "details": {"ground_codes": ["rights_harmed"]},
    }
)
@example(
    body={
        "request_type": "purpose_notification",
        "principal": PRINCIPAL,  # the principal themself
        "requester": {"role": "principal", "name": PRINCIPAL["name"], "email": PRINCIPAL["email"]},
    }
)
@example(
    body={
        "request_type": "correction",
        "principal": PRINCIPAL,
        "details": {
            "corrections": [  # refused: 422
                {"field": "phone", "requested": "090-1111-2222"},
                {"field": "phone", "requested": "090-3333-4444"},
            ]
        },
    }
)
@example(
    body={
        "request_type": "disclosure",
        "principal": {"name": "見知らぬ 人", "email": "stranger@example.jp"},
        "details": {
            "delivery": "postal",
            "postal_address": "東京都江東区豊洲3-2-3",
            "include_third_party_records": True,
        },
    }
)
@hypothesis_settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_accepted_body_reaches_a_final_status(intake, body):
    settings, client = intake
    answer = client.post("/api/requests", json=body)
    event(f"answered {answer.status_code}")
    assert answer.status_code in (201, 422), answer.text
    if answer.status_code == 422:
        return
    reference, token = answer.json()["reference"], answer.json()["status_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    run = Run(reference)
    status = requester_until_final(settings, client, reference, bearer, run)
    event(f"final: {status}")
    assert status in FINAL, f"{reference} stuck at {status} after {SECONDS_TO_FINISH} s: {body}"
    help_desk_posts_the_letters(settings, reference)
    assert run.join(timeout=30) == status


def requester_until_final(settings, client, reference: str, bearer: dict, run: Run) -> str:
    """Act as the requester until the request is final (or the time is up): the request's
    status through the API, the code from the inbox, documents as the mail asks for them."""
    entered, uploaded = set(), set()
    deadline = time.monotonic() + SECONDS_TO_FINISH
    while time.monotonic() < deadline:
        view = client.get(f"/api/requests/{reference}", headers=bearer).json()
        if view["status"] in FINAL:
            return view["status"]
        if not run.thread.is_alive():
            raise AssertionError(f"the run ended at {view['status']}: {run.result} {run.error!r}")
        if view["waiting_for"]:
            event(f"waited for {view['waiting_for']}")
        if view["waiting_for"] == "one_time_code":
            code = inbox.latest_code(settings.sendgrid_host, reference)
            if code and code not in entered:
                entered.add(code)
                client.post(f"/api/requests/{reference}/identity-code", json={"code": code}, headers=bearer)
        elif view["waiting_for"] == "documents":
            for kind in set(documents_asked_for(settings, reference)) - uploaded:
                uploaded.add(kind)
                taken = client.post(
                    f"/api/requests/{reference}/documents",
                    headers=bearer,
                    data={"kind": kind},
                    files={"file": (f"{kind}.pdf", PDF, "application/pdf")},
                )
                assert taken.status_code == 201, taken.text
        time.sleep(0.1)
    return client.get(f"/api/requests/{reference}", headers=bearer).json()["status"]


def help_desk_posts_the_letters(settings, reference: str) -> None:
    """A decision whose data goes by post is a letter, which the run waits for until the help
    desk marks it sent (as the gate's button does: marked, then the run woken)."""
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        for letter in session.exec(select(Letter).where(Letter.request_id == request.id)):
            letters.mark_sent(session, settings, letter.id, actor="operator:sato", now=utcnow())
    wake_run(settings, reference)


def documents_asked_for(settings, reference: str) -> list[str]:
    """The kinds the "documents needed" mail lists (what the agent reads in it)."""
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        notices = session.exec(
            select(Notice).where(Notice.request_id == request.id, Notice.kind == "documents_needed")
        ).all()
        return [kind for notice in notices for kind in notice.context.get("required_documents", [])]
