"""Intake's own service: the reference it gives a request is dated in Japan."""

from datetime import UTC, datetime

from models.db import unit_of_work
from models.requests import RequestCreate, new_reference
from models.schema import upgrade
from services import intake

BODY = {"request_type": "disclosure", "principal": {"name": "山田 太郎", "email": "taro@example.co.jp"}}


def test_a_reference_carries_the_date_in_japan_not_utc(settings):
    upgrade(settings)
    late_evening_utc = datetime(2026, 12, 5, 23, 30, tzinfo=UTC)  # 2026-12-06 08:30 in Tokyo
    with unit_of_work(settings) as session:
        done = intake.submit(session, settings, RequestCreate.model_validate(BODY), now=late_evening_utc)
    assert done.reference.startswith("R-261206-")
    assert new_reference(datetime(2026, 12, 5, 14, 59, tzinfo=UTC)).startswith("R-261205-")  # 23:59 JST
    assert new_reference(datetime(2026, 12, 5, 15, 0, tzinfo=UTC)).startswith("R-261206-")  # midnight JST
