"""The postal and phone identity routes (docs/rules.md §4), case by case: which route a
request takes, each route's deadline on the business-day calendar, and its refusals."""

from datetime import UTC, datetime

import pytest

from models.rules.deadlines import JST
from models.rules.identity import (
    Callback,
    IdentityStatus,
    PostalCheck,
    Route,
    route_deadline,
    route_for,
    route_verdict,
)
from models.rules.registered_mail import tracking_number
from models.rules.vocabulary import ReasonCode, Role


@pytest.mark.parametrize(
    "role, channel, route",
    [
        (Role.PRINCIPAL, "post", Route.POST),
        (Role.PRINCIPAL, "phone", Route.PHONE),
        (Role.PRINCIPAL, "web", Route.CODE),
        (Role.PRINCIPAL, "email", Route.CODE),
        (Role.PRINCIPAL, "counter", Route.CODE),
        (Role.PRINCIPAL, "cli", Route.CODE),
        (Role.APPOINTED_AGENT, "post", Route.DOCUMENTS),
        (Role.LEGAL_REPRESENTATIVE, "phone", Route.DOCUMENTS),
    ],
)
def test_the_route_follows_the_channel(role, channel, route):
    assert route_for(role, channel) is route


@pytest.mark.parametrize(
    "started, deadline",
    [
        # Friday: the copy has to the end of the 14th day, a Friday
        (datetime(2026, 12, 4, 10, 0, tzinfo=JST), datetime(2026, 12, 18, 23, 59, 59, tzinfo=JST)),
        # the 14th day is 29 Dec, in the New Year closure: to the end of 4 January
        (datetime(2026, 12, 15, 9, 0, tzinfo=JST), datetime(2027, 1, 4, 23, 59, 59, tzinfo=JST)),
        # the 14th day is a Sunday: to the end of Monday
        (datetime(2026, 11, 1, 9, 0, tzinfo=JST), datetime(2026, 11, 16, 23, 59, 59, tzinfo=JST)),
    ],
)
def test_the_posted_copy_is_awaited_fourteen_days_to_a_business_day(started, deadline):
    assert route_deadline(Route.POST, started) == deadline


@pytest.mark.parametrize(
    "started, deadline",
    [
        # Friday: Monday, Tuesday, Wednesday; 18:00
        (datetime(2026, 12, 4, 10, 0, tzinfo=JST), datetime(2026, 12, 9, 18, 0, tzinfo=JST)),
        # Saturday 26 Dec: Monday 28, then the closure to 3 Jan, then 4 and 5 Jan
        (datetime(2026, 12, 26, 10, 0, tzinfo=JST), datetime(2027, 1, 5, 18, 0, tzinfo=JST)),
        # a Friday before a national holiday (Culture Day, Tue 3 Nov): Mon 2, Wed 4, Thu 5
        (datetime(2026, 10, 30, 17, 0, tzinfo=JST), datetime(2026, 11, 5, 18, 0, tzinfo=JST)),
        # 16:00 UTC on Monday is already Tuesday in Japan: counted from Japan's day
        (datetime(2026, 12, 7, 16, 0, tzinfo=UTC), datetime(2026, 12, 11, 18, 0, tzinfo=JST)),
    ],
)
def test_the_call_back_is_made_within_three_business_days(started, deadline):
    assert route_deadline(Route.PHONE, started) == deadline


def test_the_code_and_documents_routes_keep_their_own_deadlines():
    with pytest.raises(ValueError):
        route_deadline(Route.CODE, datetime(2026, 12, 4, tzinfo=JST))


@pytest.mark.parametrize(
    "route, answer, passed, status, reason",
    [
        (Route.POST, PostalCheck.VERIFIED, False, IdentityStatus.VERIFIED, None),
        (Route.POST, PostalCheck.VERIFIED, True, IdentityStatus.VERIFIED, None),  # it came in time
        (Route.POST, PostalCheck.NOT_SHOWN, False, IdentityStatus.REFUSED, "postal_identity_not_verified"),
        (Route.POST, None, False, IdentityStatus.MISSING, None),  # no copy yet
        (Route.POST, None, True, IdentityStatus.REFUSED, "postal_identity_not_verified"),
        (Route.PHONE, Callback.CONFIRMED, False, IdentityStatus.VERIFIED, None),
        (Route.PHONE, Callback.NOT_REACHED, False, IdentityStatus.MISSING, None),  # call again
        (Route.PHONE, Callback.NOT_REACHED, True, IdentityStatus.REFUSED, "phone_identity_not_verified"),
        (
            Route.PHONE,
            Callback.DETAILS_MISMATCH,
            False,
            IdentityStatus.REFUSED,
            "phone_identity_not_verified",
        ),
        (Route.PHONE, None, True, IdentityStatus.REFUSED, "phone_identity_not_verified"),
    ],
)
def test_each_route_refuses_with_its_own_code(route, answer, passed, status, reason):
    verdict = route_verdict(route, answer, deadline_passed=passed)
    assert verdict.status is status
    assert verdict.reason == (ReasonCode(reason) if reason else None)


@pytest.mark.parametrize(
    "typed, number",
    [
        ("1234-5678-9012", "123456789012"),
        ("１２３４ ５６７８ ９０１", "12345678901"),
        ("1234567890123", "1234567890123"),
        ("1234-5678-90", None),  # 10 digits
        ("12345678901234", None),  # 14
        ("AB123456789JP", None),  # an international item: not a domestic registered letter
        ("", None),
        (None, None),
    ],
)
def test_a_tracking_number_is_eleven_to_thirteen_digits(typed, number):
    assert tracking_number(typed) == number
