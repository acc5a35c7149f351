"""Dispatch against a real Prefect server: one flow run per request however often the
dispatcher runs, and requests submitted while the API is down stay pending until it is up."""

from uuid import UUID

import pytest
from sqlmodel import select

from deployments import dispatch, local
from models.db import unit_of_work, utcnow
from models.requests import RequestCreate
from models.schema import upgrade
from models.settings import Settings
from services import dispatch as service
from services import intake
from services.common import load_request

pytestmark = pytest.mark.deployment

BODY = {
    "request_type": "disclosure",
    "principal": {"name": "山田 太郎", "email": "taro@example.co.jp", "login_id": "A1234567"},
}


@pytest.fixture(scope="module")
def deployed(prefect_server, tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-client")
    local.ensure_work_pool(prefect_server.url)
    local.deploy_all(prefect_server.url, prefect_home=home)
    return prefect_server.url


@pytest.fixture
def desk(tmp_path) -> Settings:
    settings = Settings(data_dir=tmp_path, secret_key="dispatch-test")
    upgrade(settings)
    return settings


def submit(settings: Settings) -> str:
    with unit_of_work(settings) as session:
        return intake.submit(session, settings, RequestCreate.model_validate(BODY), now=utcnow()).reference


def run_ids(api_url: str, reference: str) -> set[str]:
    with local._api(api_url) as client:
        runs = client.read_flow_runs()
    return {str(r.id) for r in runs if r.parameters.get("reference") == reference}


def test_two_dispatches_make_one_flow_run_per_request(deployed, desk):
    refs = [submit(desk), submit(desk)]
    with unit_of_work(desk) as session:
        assert set(refs) <= set(service.pending(session))

    assert sorted(dispatch.dispatch_pending(desk, api_url=deployed)) == sorted(refs)
    assert dispatch.dispatch_pending(desk, api_url=deployed) == []  # nothing pending now

    # A crash after creating the run and before storing its id: dispatched again, same run.
    with unit_of_work(desk) as session:
        first = load_request(session, refs[0])
        stored = first.flow_run_id
        first.flow_run_id = None
        session.add(first)
    assert dispatch.dispatch_pending(desk, api_url=deployed) == [refs[0]]

    for ref in refs:
        with unit_of_work(desk) as session:
            run_id = load_request(session, ref).flow_run_id
        assert run_ids(deployed, ref) == {run_id}, ref
    assert run_ids(deployed, refs[0]) == {stored}
    with local._api(deployed) as client:
        run = client.read_flow_run(UUID(stored))
    assert run.idempotency_key == refs[0] and run.parameters == {"reference": refs[0]}


def test_api_down_leaves_requests_pending_until_it_is_up(deployed, desk):
    down = f"http://127.0.0.1:{local.free_port()}/api"  # nothing listens there
    ref = submit(desk)
    result = dispatch.dispatch_round(desk, api_url=down)
    assert result.dispatched == [] and result.pending == [ref]
    assert "unreachable" in result.error
    assert dispatch.dispatch_pending(desk, api_url=down) == []
    with unit_of_work(desk) as session:
        assert load_request(session, ref).flow_run_id is None
        assert service.pending(session) == [ref]

    assert dispatch.dispatch_pending(desk, api_url=deployed) == [ref]
    with unit_of_work(desk) as session:
        assert load_request(session, ref).flow_run_id in run_ids(deployed, ref)
        assert service.pending(session) == []


def test_inquiries_and_provision_reviews_get_one_run_each(deployed, desk):
    from models.ledgers import Inquiry
    from services.inquiries import InquiryCreate, open_inquiry
    from services.provision import ProvisionRequestCreate, enter

    with unit_of_work(desk) as session:
        inquiry = open_inquiry(
            session,
            desk,
            InquiryCreate(name="山田 太郎", email="taro@example.co.jp", body="問い合わせ"),
            now=utcnow(),
        )
        review = enter(
            session,
            desk,
            ProvisionRequestCreate.model_validate(
                {
                    "third_party": {"kind": "police", "name": "警察署"},
                    "subject": {"email": "taro@example.co.jp"},
                    "items": ["name"],
                    "basis": "police_written_inquiry",
                }
            ),
            now=utcnow(),
        )
    assert sorted(dispatch.dispatch_pending(desk, api_url=deployed)) == sorted([inquiry, review])
    with unit_of_work(desk) as session:  # a crash before the id was stored: the same run again
        ticket = session.exec(select(Inquiry).where(Inquiry.reference == inquiry)).one()
        stored, ticket.flow_run_id = ticket.flow_run_id, None
        session.add(ticket)
    assert dispatch.dispatch_pending(desk, api_url=deployed) == [inquiry]
    assert dispatch.dispatch_pending(desk, api_url=deployed) == []
    assert run_ids(deployed, inquiry) == {stored} and len(run_ids(deployed, review)) == 1
    with local._api(deployed) as client:
        run = client.read_flow_run(UUID(stored))
        deployment = client.read_deployment(run.deployment_id)
    assert (run.idempotency_key, run.parameters, deployment.name) == (
        inquiry,
        {"reference": inquiry},
        "inquiry",
    )
