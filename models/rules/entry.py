"""Help-desk entry (issue 15 §1): a request a member of the help desk enters for a caller, a
letter, a visitor or an email. The day it was received starts the decision clock (for post,
the day the letter arrived, not the day it was typed in), so it must be a real day of the
recent past: a day in the future or long ago is a typing error, refused with its field."""

from datetime import date, datetime, time
from enum import StrEnum

from models.rules.deadlines import JST

MAX_DAYS_BACK = 31  # a letter found later than this is entered with the officer, not typed in


class Channel(StrEnum):
    """How the request reached the help desk; the audit's ``requester:<channel>`` (the register's 受付経路)."""

    PHONE = "phone"
    POST = "post"
    COUNTER = "counter"
    EMAIL = "email"


class Acknowledgement(StrEnum):
    """How the acknowledgement goes: by email to the requester, or as a letter the help desk prints."""

    EMAIL = "email"
    LETTER = "letter"


PROBLEMS = {  # code: what the command line and the API say (the desk page's words: web/templates/labels)
    "required": "a date (YYYY-MM-DD) is required",
    "future": "must not be in the future",
    "too_far_back": f"must be within the last {MAX_DAYS_BACK} days",
    "no_address": "an acknowledgement by letter needs the address to post it to",
    "post_no_address": "a request received by post needs the address it came from (identity by post is answered there)",
    "no_customer_record": "no customer record has this login ID / phone; give the email",
}
# A principal who calls or writes may give the login ID or phone instead of the email: the desk
# takes the email from the customer record, and answers on paper (nothing mailed unasked).
EMAIL_FROM_RECORD = frozenset({Channel.PHONE, Channel.POST})


def email_from_record(channel: Channel, *, agent: bool, login_id: str | None, phone: str | None) -> bool:
    """Whether an entry that leaves the principal's email out takes it from the customer record:
    a principal's own request by phone or post that gives the login ID or the phone."""
    return channel in EMAIL_FROM_RECORD and not agent and bool(login_id or phone)


def entry_problems(
    received_on: date | None,
    today: date,
    *,
    acknowledgement: Acknowledgement,
    postal_address: str | None,
    channel: Channel | None = None,
) -> dict[str, str]:
    """What is wrong with an entry beyond the request body, field: code of :data:`PROBLEMS`
    (empty when nothing is): the received day (``received_on``: not after ``today``, at most
    :data:`MAX_DAYS_BACK` before it) and, for a letter or a request that came by post, the
    address to post to (identity by post is answered there by registered mail)."""
    problems = {}
    if received_on is None:
        problems["received_on"] = "required"
    elif received_on > today:
        problems["received_on"] = "future"
    elif (today - received_on).days > MAX_DAYS_BACK:
        problems["received_on"] = "too_far_back"
    if not (postal_address or "").strip():
        if acknowledgement is Acknowledgement.LETTER:
            problems["postal_address"] = "no_address"
        elif channel is Channel.POST:
            problems["postal_address"] = "post_no_address"
    return problems


def received_instant(received_on: date, now: datetime) -> datetime:
    """When the request counts as received: ``now`` when it came in today (Japan's day), else the
    start of that day in Japan, so that the clock runs from the day it arrived."""
    if received_on >= now.astimezone(JST).date():
        return now
    return datetime.combine(received_on, time(), JST).astimezone(now.tzinfo)
