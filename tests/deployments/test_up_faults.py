"""Parts of `madoguchi up` killed with SIGKILL while a request is open (the fault campaign's
server and intake cases; bench/faults.py prints the figures under load): `up` starts each
again, the request waiting for its requester's code is woken once the code is entered, and
a request submitted after the faults goes through too."""

import json
import os
import signal
from pathlib import Path

import httpx
import pytest

from demo import inbox
from tests.deployments.up import EXAMPLE, Up

pytestmark = pytest.mark.deployment


def pid_of(up: Up, marker: bytes) -> int | None:
    for pid in up.below_now():
        try:
            words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in words:
            return pid
    return None


def test_up_starts_a_killed_server_and_intake_again_and_the_open_request_finishes(tmp_path):
    with Up(tmp_path, "faults-test", MADOGUCHI_AUTOPILOT="1") as up:
        first, _, _ = up.submit_and_verify()  # a request decided before the faults, as a baseline
        up.until(lambda: up.request(first).status == "completed", "the first completion", 90)

        # a second request waits for its code while the Prefect server dies
        answer = httpx.post(f"{up.intake}/api/requests", json=json.loads(EXAMPLE.read_text(encoding="utf-8")))
        reference = answer.json()["reference"]
        bearer = {"Authorization": f"Bearer {answer.json()['status_token']}"}
        up.until(lambda: up.request(reference).waiting_for == "one_time_code", "code wait", 60)
        code = up.until(lambda: inbox.latest_code(up.stub, reference), "code mail", 15)

        server = pid_of(up, b"deployments.prefect_server")
        assert server
        os.kill(server, signal.SIGKILL)
        entered = httpx.post(
            f"{up.intake}/api/requests/{reference}/identity-code",
            json={"code": code},
            headers=bearer,
            timeout=30,
        )
        assert entered.json()["result"] == "verified", entered.text  # the app database took it
        up.until(
            lambda: "prefect-server exited" in up.log() and pid_of(up, b"deployments.prefect_server"),
            "the server again",
            60,
        )

        intake = pid_of(up, b"web")
        os.kill(intake, signal.SIGKILL)
        up.until(
            lambda: "intake exited" in up.log() and pid_of(up, b"web") not in (None, intake),
            "the intake again",
            30,
        )

        up.until(lambda: up.request(reference).status == "completed", "completion after the faults", 120)
        third, _, _ = up.submit_and_verify()
        up.until(lambda: up.request(third).status == "completed", "a new request's completion", 90)
        decisions = [m for m in inbox.messages(up.stub, reference) if inbox.kind_of(m) == "decision"]
        assert len(decisions) == 1
    assert up.left_behind() == []
