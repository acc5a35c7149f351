"""Inquiries run by their flow on Prefect's test server: acknowledged, answered on the form
or from the command line, the answer emailed once, and nothing personal left in Prefect."""

import asyncio
import json
from uuid import UUID

from prefect.client.orchestration import get_client
from sqlmodel import select

from flows.inquiries import inquiry
from flows.waits import wake
from models.db import unit_of_work, utcnow
from models.fulfilment import Notice
from services.inquiries import InquiryCreate, load_inquiry, open_inquiry
from tests.flows.support import events_of
from tests.flows.tickets import cli, ticket_run

NAME, EMAIL = "山田 太郎", "taro@example.co.jp"
BODY = "先月の注文 A-100 の配送先住所を消してほしい。東京都江東区豊洲の件です。"
ANSWER = "ご依頼の配送先情報は削除いたしました。"


def open_(settings, **changes) -> str:
    data = InquiryCreate(**{"kind": "complaint", "name": NAME, "email": EMAIL, "body": BODY, **changes})
    with unit_of_work(settings) as session:
        return open_inquiry(session, settings, data, now=utcnow())


def mail_of(settings, reference) -> list[Notice]:
    with unit_of_work(settings) as session:
        return [
            n
            for n in session.exec(select(Notice).order_by(Notice.id))
            if n.context.get("reference") == reference
        ]


def test_an_inquiry_answered_on_the_form_is_emailed_once_and_leaves_nothing_personal_in_prefect(desk):
    settings = desk
    reference = open_(settings)
    run = ticket_run(inquiry, reference)
    run_id = run.wait_until_paused(after=0)
    assert [(n.kind, n.state) for n in mail_of(settings, reference)] == [("inquiry_acknowledgement", "sent")]
    assert wake(run_id, {"answer": "", "actor": "suzuki"})  # submitted empty: asked again
    run.wait_until_paused(after=1)
    assert wake(run_id, {"answer": ANSWER, "actor": "suzuki"})  # the actor as the gate stamps it
    assert run.join() == "answered"

    with unit_of_work(settings) as session:
        ticket = load_inquiry(session, reference)
    assert (ticket.status, ticket.answer, ticket.answered_by) == ("answered", ANSWER, "operator:suzuki")
    mail = mail_of(settings, reference)
    assert [(n.kind, n.state) for n in mail] == [
        ("inquiry_acknowledgement", "sent"),
        ("inquiry_answer", "sent"),
    ]
    assert mail[1].recipient_email == EMAIL and mail[1].context["answer"] == ANSWER
    assert [e.actor for e in events_of(settings, reference, "inquiry.answered")] == ["operator:suzuki"]

    assert asyncio.run(inquiry(reference)) == "answered"  # a re-run sends nothing twice
    assert [n.attempts for n in mail_of(settings, reference)] == [1, 1]

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(UUID(run_id))
        inputs = client.filter_flow_run_input(UUID(run_id), "", 100, set())
    assert (flow_run.name, flow_run.parameters) == (reference, {"reference": reference})
    held = json.dumps(
        [flow_run.model_dump(mode="json"), [i.model_dump(mode="json") for i in inputs]], ensure_ascii=False
    )
    assert reference in held  # the search reaches the run and its form
    keys = {i.key for i in inputs}
    assert (
        "paused-operator-answer-0-response" in keys and "paused-operator-answer-1-response" not in keys
    )  # moved to the app DB
    held += json.dumps([json.loads(i.value) for i in inputs], ensure_ascii=False)
    for personal in (NAME, "山田", EMAIL, "A-100", "江東区", ANSWER):
        assert personal not in held, personal


def test_an_inquiry_answered_from_the_command_line(desk):
    settings = desk
    reference = open_(settings, kind="inquiry", language="en", body="How long do you keep call recordings?")
    run = ticket_run(inquiry, reference)
    run.wait_until_paused()
    output = cli("inquiry", "answer", reference, "--text", "We keep them for one year.", user="sato")
    assert "the flow run sends it" in output
    assert run.join() == "answered"
    [_ack, answer] = mail_of(settings, reference)
    assert (answer.kind, answer.language, answer.state) == ("inquiry_answer", "en", "sent")
    assert [e.actor for e in events_of(settings, reference, "inquiry.answered")] == ["operator:sato"]
    assert NAME in cli("inquiry", "show", reference)  # read from the app database, not Prefect
