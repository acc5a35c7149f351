"""Help-desk entry (models/rules/entry.py): the received day, case by case, and when the clock starts."""

from datetime import UTC, date, datetime

import pytest

from models.rules.deadlines import JST
from models.rules.entry import (
    MAX_DAYS_BACK,
    Acknowledgement,
    Channel,
    email_from_record,
    entry_problems,
    received_instant,
)

TODAY = date(2026, 12, 7)
EMAIL, LETTER = Acknowledgement.EMAIL, Acknowledgement.LETTER


@pytest.mark.parametrize(
    ("received_on", "problem"),
    [
        (TODAY, None),
        (date(2026, 12, 6), None),
        (date(2026, 11, 6), None),  # 31 days back: still fine
        (date(2026, 11, 5), "too_far_back"),
        (date(2026, 12, 8), "future"),
        (None, "required"),
    ],
)
def test_the_received_day_is_today_or_the_recent_past(received_on, problem):
    found = entry_problems(received_on, TODAY, acknowledgement=EMAIL, postal_address=None)
    assert found == ({"received_on": problem} if problem else {})
    assert (TODAY - date(2026, 11, 6)).days == MAX_DAYS_BACK


@pytest.mark.parametrize(("address", "problem"), [(None, True), ("  ", True), ("〒100-0005 東京都", False)])
def test_a_letter_needs_an_address(address, problem):
    found = entry_problems(TODAY, TODAY, acknowledgement=LETTER, postal_address=address)
    assert found == ({"postal_address": "no_address"} if problem else {})
    assert entry_problems(TODAY, TODAY, acknowledgement=EMAIL, postal_address=address) == {}


@pytest.mark.parametrize(
    ("channel", "acknowledgement", "problem"),
    [
        (Channel.POST, EMAIL, "post_no_address"),  # identity by post is answered at that address
        (Channel.POST, LETTER, "no_address"),
        (Channel.PHONE, EMAIL, None),
        (Channel.COUNTER, EMAIL, None),
        (Channel.EMAIL, EMAIL, None),
    ],
)
def test_a_request_by_post_needs_the_address_it_came_from(channel, acknowledgement, problem):
    found = entry_problems(TODAY, TODAY, acknowledgement=acknowledgement, postal_address=" ", channel=channel)
    assert found == ({"postal_address": problem} if problem else {})
    given = entry_problems(
        TODAY, TODAY, acknowledgement=acknowledgement, postal_address="東京都", channel=channel
    )
    assert given == {}


@pytest.mark.parametrize(
    ("channel", "agent", "login_id", "phone", "from_record"),
    [
        (Channel.PHONE, False, "A1234567", None, True),
        (Channel.POST, False, None, "03-1234-5678", True),
        (Channel.COUNTER, False, "A1234567", None, False),  # a visitor can write it down
        (Channel.EMAIL, False, "A1234567", None, False),  # it came from an address
        (Channel.PHONE, True, "A1234567", None, False),  # an agent's request: the agent's email
        (Channel.PHONE, False, None, None, False),  # nothing to find the record by
    ],
)
def test_the_email_is_taken_from_the_record_only_for_a_principal_calling_or_writing(
    channel, agent, login_id, phone, from_record
):
    assert email_from_record(channel, agent=agent, login_id=login_id, phone=phone) is from_record


def test_the_clock_starts_on_the_day_received():
    now = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)  # 10:30 in Japan
    assert received_instant(date(2026, 12, 7), now) == now
    assert received_instant(date(2026, 12, 3), now) == datetime(2026, 12, 3, tzinfo=JST)
    late_evening = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)  # already 7 December in Japan
    assert received_instant(date(2026, 12, 7), late_evening) == late_evening
