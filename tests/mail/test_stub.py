"""The stub answers the real sendgrid client the way SendGrid does."""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from python_http_client.exceptions import BadRequestsError, UnauthorizedError
from sendgrid import SendGridAPIClient

GOOD = {
    "personalizations": [{"to": [{"email": "a@example.com"}]}],
    "from": {"email": "from@example.com"},
    "subject": "hello",
    "content": [{"type": "text/plain", "value": "hi"}],
}


@pytest.fixture
def client(stub_server, stub):
    return SendGridAPIClient(api_key="test-key", host=stub_server.url)


def test_accepts_a_valid_payload_and_lists_it_oldest_first(client, stub):
    first = client.send(GOOD)
    client.send({**GOOD, "subject": "second"})
    assert first.status_code == 202 and first.headers["X-Message-Id"]
    assert [m["subject"] for m in stub.messages()] == ["hello", "second"]


@pytest.mark.parametrize(
    "missing, field",
    [
        ("personalizations", "personalizations"),
        ("from", "from"),
        ("subject", "subject"),
        ("content", "content"),
    ],
)
def test_malformed_payloads_get_sendgrids_400(client, stub, missing, field):
    with pytest.raises(BadRequestsError) as caught:
        client.send({k: v for k, v in GOOD.items() if k != missing})
    errors = json.loads(caught.value.body)["errors"]
    assert [e["field"] for e in errors] == [field] and all(e["message"] and e["help"] for e in errors)
    assert stub.messages() == []


def test_a_personalization_without_to_is_refused(client):
    with pytest.raises(BadRequestsError) as caught:
        client.send({**GOOD, "personalizations": [{"to": []}]})
    assert json.loads(caught.value.body)["errors"][0]["field"] == "personalizations.0.to"


def test_bearer_auth_is_required(stub_server):
    with pytest.raises(UnauthorizedError):
        SendGridAPIClient(api_key="", host=stub_server.url).send(GOOD)


def test_suppression_group_endpoints(client, stub):
    groups = client.client.asm.groups._(7).suppressions
    assert (
        groups.post(request_body={"recipient_emails": ["x@example.com", "y@example.com"]}).status_code == 201
    )
    groups.post(request_body={"recipient_emails": ["x@example.com"]})
    assert json.loads(groups.get().body) == ["x@example.com", "y@example.com"]
    assert groups._("x@example.com").delete().status_code == 204
    assert stub.suppressions(7) == ["y@example.com"]


def test_faults_are_consumed_in_order(client, stub):
    stub.fault(status=429, retry_after=3, count=1)
    with pytest.raises(Exception) as caught:
        client.send(GOOD)
    assert caught.value.status_code == 429 and caught.value.headers["Retry-After"] == "3"
    assert client.send(GOOD).status_code == 202


def test_runs_as_a_module():
    process = subprocess.Popen(
        [sys.executable, "-m", "demo.stub", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        url = process.stdout.readline().split()[3]
        with urllib.request.urlopen(url + "/messages", timeout=5) as response:
            assert json.loads(response.read()) == []
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_unknown_paths_are_404(stub_server):
    request = urllib.request.Request(stub_server.url + "/v3/nothing", headers={"Authorization": "Bearer k"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 404


def test_a_fault_for_a_while_answers_every_send_until_it_ends(client, stub):
    stub.fault(status=503, seconds=0.5)
    for _ in range(3):
        with pytest.raises(Exception) as caught:
            client.send(GOOD)
        assert caught.value.status_code == 503
    time.sleep(0.5)
    assert client.send(GOOD).status_code == 202
    assert len(stub.messages()) == 1


def test_a_fault_with_a_bad_duration_is_refused(stub):
    with pytest.raises(urllib.error.HTTPError) as caught:
        stub.fault(status=503, seconds="a while")
    assert caught.value.code == 400
    assert json.loads(caught.value.read())["errors"][0]["field"] == "seconds"
