"""The review form answered where an operator answers it: in the Prefect UI. `madoguchi up`
on free ports, a request submitted over the intake API and its one-time code (read from the
SendGrid stub) entered; then headless Chromium opens the Suspended flow run's page, clicks
Resume, finds the review form in Japanese with the pre-screen's summary above it and nothing
chosen: submitting it empty is refused in the dialog and the run stays Suspended. It chooses
the item's action by its Japanese label, types the operator's name and submits. The request
moves on to the fee (awaiting_requester, waiting for payment),
the operator's name is in the audit trail; the fee is confirmed with `madoguchi operator
payment` and the request completes. SIGTERM stops `up` cleanly.

Screenshots (the run page before Resume, the form, the run page after) are saved under
test-artifacts/prefect-ui/ and their paths printed."""

import re
import shutil
import time

import httpx
import pytest

from flows.forms import words
from models.audit import trail_of
from models.db import unit_of_work
from services.review import undecided
from tests.deployments.up import PROJECT, Up
from tests.web.test_browser import ARGS, chromium, shot  # noqa: F401  (the fixture: skip without Chromium, fail in CI)

pytestmark = [pytest.mark.deployment, pytest.mark.browser]

ARTIFACTS = PROJECT / "test-artifacts" / "prefect-ui"
OPERATOR = "ui-operator-sato"


def test_operator_answers_the_review_form_in_the_prefect_ui(tmp_path, chromium):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    started = time.monotonic()
    with Up(tmp_path, "ui-resume-test") as up:
        reference, bearer, run_id = up.submit_and_verify()

        def request():
            return up.request(reference)

        with up.client():
            up.suspended_with(run_id, "suspended-operator-review")
            assert request().status == "review"

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
                try:
                    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                    page.set_default_timeout(20_000)
                    page.goto(f"{up.ui}/runs/flow-run/{run_id}")
                    resume = page.get_by_role("button", name="Resume")
                    expect(resume).to_be_visible()
                    expect(page.get_by_text("Suspended").first).to_be_visible()
                    shot(page, "1-suspended-run", ARTIFACTS)

                    resume.click()
                    dialog = page.get_by_role("dialog")
                    expect(dialog.get_by_text("Resume Flow Run")).to_be_visible()
                    # the form's description (the pre-screen, rendered as markdown) and its fields
                    expect(dialog.get_by_text(reference).first).to_be_visible()
                    expect(dialog.get_by_text("担当者の判断待ち").first).to_be_visible()
                    expect(dialog.get_by_role("cell", name="顧客マスタ")).to_be_visible()

                    def field(label: str):
                        return dialog.locator(".schema-form-property").filter(
                            has=page.locator(".schema-form-property__label", has_text=re.compile(rf"^{label}")))

                    operator = field("判断した担当者").locator("textarea")
                    expect(operator).to_have_value("")  # no stand-in name
                    value = field("customers：判断").locator(".p-select-button__value")
                    expect(value).to_have_text("")  # nothing chosen for the operator
                    dialog.get_by_role("button", name="Submit").click()  # empty: refused in the dialog
                    expect(dialog.get_by_text(re.compile("required", re.I)).first).to_be_visible()
                    shot(page, "2-refused-empty", ARTIFACTS)
                    assert request().status == "review"

                    def choose(label: str, option: str):  # the choices are listed by their labels
                        select = field(re.escape(label))
                        select.locator(".p-select-button__control").focus()
                        page.keyboard.press("Space")  # headless: a click does not open the dropdown
                        page.get_by_role("option", name=option, exact=True).click()
                        expect(select.locator(".p-select-button__value")).to_have_text(option)

                    labels = words()["choices"]
                    with unit_of_work(up.settings) as session:
                        pending = undecided(session, reference)
                    for item in pending:  # the pre-screen's proposal, chosen item by item
                        choose(f"{item['item_key']}：判断", labels["item_action"][item["proposed_action"]])
                        for code in item["proposed_reasons"][:1]:
                            choose(f"{item['item_key']}：理由", labels["reason"][code])
                    operator.fill(OPERATOR)
                    expect(operator).to_have_value(OPERATOR)
                    shot(page, "2-review-form", ARTIFACTS)

                    dialog.get_by_role("button", name="Submit").click()
                    expect(dialog).to_be_hidden()
                    up.until(lambda: request().waiting_for == "payment", "the fee wait after Resume", 45)
                    up.suspended_with(run_id, "suspended-operator-payment")
                    page.reload()
                    expect(page.get_by_text("Suspended").first).to_be_visible()
                    shot(page, "3-after-resume", ARTIFACTS)
                finally:
                    browser.close()

            moved = request()
            assert (moved.status, moved.waiting_for) == ("awaiting_requester", "payment")
            with unit_of_work(up.settings) as session:
                actors = {event.actor for event in trail_of(session, reference)}
            assert f"operator:{OPERATOR}" in actors, actors
            assert "answered" in up.cli("operator", "payment", reference)
            up.until(lambda: request().status == "completed", "completion", 45)
        status = httpx.get(f"{up.intake}/api/requests/{reference}", headers=bearer).json()
        assert status["status"] == "completed" and status["outcome"] == "granted", status
    assert up.proc.returncode == 0, up.log()
    assert not up.left_behind(), "up left processes behind"
    print(f"\nUI resume {reference}: whole test {time.monotonic() - started:.1f} s")
