"""The SLA monitor's work queue lists the requests whose identity is checked by post or phone,
each with its route's own deadline, earliest first, until the check is decided (issue 15 §2)."""

from datetime import timedelta

from models.db import unit_of_work, utcnow
from models.requests import RequestCreate
from models.rules.deadlines import JST, jst_date
from models.rules.entry import Acknowledgement, Channel
from models.rules.identity import Callback, Route, route_deadline
from services import identity, intake, sla_report
from tests.services.conftest import PRINCIPAL


def _started(settings, registry, channel: str, *, now) -> str:
    body = {"request_type": "disclosure", "principal": PRINCIPAL, "details": {"postal_address": "東京都"}}
    with unit_of_work(settings) as session:
        reference = intake.enter(
            session,
            settings,
            RequestCreate.model_validate(body),
            channel=Channel(channel),
            received_on=jst_date(now),
            acknowledgement=Acknowledgement.EMAIL,
            actor="operator:sato",
            now=now,
        ).reference
        identity.start(session, settings, reference, registry=registry, now=now)
    return reference


def test_the_work_queue_shows_each_route_with_its_deadline_until_decided(desk):
    settings, registry = desk
    now = utcnow()
    by_post = _started(settings, registry, "post", now=now)
    by_phone = _started(settings, registry, "phone", now=now)
    _started(settings, registry, "email", now=now)  # the code: on the queue as an open request only
    with unit_of_work(settings) as session:
        rows = sla_report.identity_queue(identity.route_queue(session), now=now, ui_url="http://ui")
    assert [(r["受付番号"], r["種別"], r["状態"]) for r in rows] == [
        (by_phone, "本人確認（電話）", "折り返し電話待ち"),  # three business days come first
        (by_post, "本人確認（郵送）", "書類の受領・確認待ち"),
    ]
    phone_due = route_deadline(Route.PHONE, now)
    assert rows[0]["回答期限"] == f"{phone_due.astimezone(JST):%Y-%m-%d %H:%M}"
    assert rows[0]["残り"] == sla_report.time_left(phone_due, now)
    assert rows[1]["回答期限"] == f"{route_deadline(Route.POST, now).astimezone(JST):%Y-%m-%d %H:%M}"

    with unit_of_work(settings) as session:
        identity.decide_route(
            session,
            settings,
            by_phone,
            Callback.CONFIRMED,
            actor="operator:sato",
            now=now + timedelta(hours=1),
        )
    with unit_of_work(settings) as session:
        assert [d.reference for d in identity.route_queue(session)] == [by_post]
