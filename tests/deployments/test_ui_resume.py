"""The review form answered where an operator answers it: in the Prefect UI. `madoguchi up`
on free ports, a request submitted over the intake API and its one-time code (read from the
SendGrid stub) entered; then headless Chromium opens the Suspended flow run's page, clicks
Resume, finds the review form pre-filled with the pre-screen's proposal, types the operator's
name and submits. The request moves on to the fee (awaiting_requester, waiting for payment),
the operator's name is in the audit trail; the fee is confirmed with `madoguchi operator
payment` and the request completes. SIGTERM stops `up` cleanly.

Screenshots (the run page before Resume, the form, the run page after) are saved under
test-artifacts/prefect-ui/ and their paths printed."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from deployments import local
from mail import inbox
from models.audit import trail_of
from models.db import unit_of_work
from models.settings import Settings
from services.common import load_request
from tests.web.test_browser import ARGS, chromium  # noqa: F401  (the fixture: skip without Chromium, fail in CI)

pytestmark = [pytest.mark.deployment, pytest.mark.browser]

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE = PROJECT / "examples" / "request.json"
FIXTURE = PROJECT / "tests" / "fixtures" / "contract_example.json"
MADOGUCHI = [str(Path(sys.executable).parent / "madoguchi")]
ARTIFACTS = PROJECT / "test-artifacts" / "prefect-ui"
OPERATOR = "ui-operator-sato"


@pytest.fixture
def env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MADOGUCHI_"))}
    env.update({"MADOGUCHI_DATA_DIR": str(tmp_path / "data"), "MADOGUCHI_SECRET_KEY": "ui-resume-test",
                "MADOGUCHI_PREFECT_PORT": str(local.free_port()),
                "MADOGUCHI_INTAKE_PORT": str(local.free_port()),
                "MADOGUCHI_MAIL_STUB_PORT": str(local.free_port()),
                "MADOGUCHI_DISPATCH_INTERVAL_SECONDS": "1"})
    return env


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def test_operator_answers_the_review_form_in_the_prefect_ui(env, tmp_path, chromium):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    settings = Settings(data_dir=Path(env["MADOGUCHI_DATA_DIR"]), secret_key="ui-resume-test")
    ui = f"http://127.0.0.1:{env['MADOGUCHI_PREFECT_PORT']}"
    api_url = f"{ui}/api"
    intake = f"http://127.0.0.1:{env['MADOGUCHI_INTAKE_PORT']}"
    stub = f"http://127.0.0.1:{env['MADOGUCHI_MAIL_STUB_PORT']}"
    log_path = tmp_path / "up.log"
    with open(log_path, "wb") as log:
        up = subprocess.Popen([*MADOGUCHI, "up", "--fixture", str(FIXTURE)], env=env, cwd=PROJECT,
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              start_new_session=True)
    below: list[int] = []
    reference = None

    def up_log() -> str:
        return log_path.read_text(errors="replace")

    def request():
        with unit_of_work(settings) as session:
            r = load_request(session, reference)
            session.expunge(r)
            return r

    def until(predicate, what, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            assert up.poll() is None, f"up exited while waiting for {what}:\n{up_log()}"
            time.sleep(0.25)
        raise AssertionError(f"no {what} after {timeout} s\n{up_log()}\n"
                             f"{(settings.data_dir / 'logs' / 'worker.log').read_text(errors='replace')[-3000:]}")

    def suspended_with(form_prefix):
        def check():
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(UUID(run_id)).state
            keyset = state.state_details.run_input_keyset if state else None
            return bool(state and state.name == "Suspended" and keyset
                        and keyset["schema"].startswith(form_prefix))
        return until(check, f"suspended run with the {form_prefix} form", 30)

    started = time.monotonic()
    try:
        until(lambda: "madoguchi is up" in up_log(), "ready", 90)
        below = local.descendants(up.pid)

        answer = httpx.post(f"{intake}/api/requests", json=json.loads(EXAMPLE.read_text(encoding="utf-8")))
        assert answer.status_code == 201, answer.text
        reference = answer.json()["reference"]
        bearer = {"Authorization": f"Bearer {answer.json()['status_token']}"}
        until(lambda: request().waiting_for == "one_time_code" and request().flow_run_id, "code wait", 45)
        run_id = request().flow_run_id
        code = until(lambda: inbox.latest_code(stub, reference), "code mail", 15)
        entered = httpx.post(f"{intake}/api/requests/{reference}/identity-code", json={"code": code},
                             headers=bearer)
        assert entered.json()["result"] == "verified", entered.text

        with temporary_settings({PREFECT_API_URL: api_url}):
            suspended_with("suspended-review")
            assert request().status == "review"

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
                try:
                    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                    page.set_default_timeout(20_000)
                    page.goto(f"{ui}/runs/flow-run/{run_id}")
                    resume = page.get_by_role("button", name="Resume")
                    expect(resume).to_be_visible()
                    expect(page.get_by_text("Suspended").first).to_be_visible()
                    shot(page, "1-suspended-run")

                    resume.click()
                    dialog = page.get_by_role("dialog")
                    expect(dialog.get_by_text("Resume Flow Run")).to_be_visible()
                    # the form's description (the pre-screen, rendered as markdown) and its fields
                    expect(dialog.get_by_text(reference).first).to_be_visible()

                    def field(label: str):
                        return dialog.locator(".schema-form-property").filter(
                            has=page.locator(".schema-form-property__label",
                                             has_text=re.compile(rf"^{label}\b")))

                    operator = field("Operator").locator("textarea")
                    expect(operator).to_have_value("operator")  # the form's default
                    # pre-filled from the pre-screen: the customers item is proposed for grant
                    expect(field("Customers Action").locator(".p-select-button__value")).to_have_text("grant")
                    operator.fill(OPERATOR)
                    expect(operator).to_have_value(OPERATOR)
                    shot(page, "2-review-form")

                    dialog.get_by_role("button", name="Submit").click()
                    expect(dialog).to_be_hidden()
                    until(lambda: request().waiting_for == "payment", "the fee wait after Resume", 45)
                    suspended_with("suspended-payment")
                    page.reload()
                    expect(page.get_by_text("Suspended").first).to_be_visible()
                    shot(page, "3-after-resume")
                finally:
                    browser.close()

            moved = request()
            assert (moved.status, moved.waiting_for) == ("awaiting_requester", "payment")
            with unit_of_work(settings) as session:
                actors = {event.actor for event in trail_of(session, reference)}
            assert f"operator:{OPERATOR}" in actors, actors
            done = subprocess.run([*MADOGUCHI, "operator", "payment", reference], env=env, cwd=PROJECT,
                                  capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
            assert done.returncode == 0 and "answered" in done.stdout, done.stdout + done.stderr
            until(lambda: request().status == "completed", "completion", 45)
        status = httpx.get(f"{intake}/api/requests/{reference}", headers=bearer).json()
        assert status["status"] == "completed" and status["outcome"] == "granted", status
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            try:
                up.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(up.pid, signal.SIGKILL)
                for pid in below:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                raise
    assert up.returncode == 0, up_log()
    assert not [p for p in below if local.running(p)], "up left processes behind"
    print(f"\nUI resume {reference}: whole test {time.monotonic() - started:.1f} s")
