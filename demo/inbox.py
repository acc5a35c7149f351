"""Reading what the SendGrid stub received, as a requester reads their inbox: for the demo,
`madoguchi request outbox` and the end-to-end tests. Messages are matched to a request by
the reference the adapter puts in ``custom_args``."""

import re

import httpx

from mail.sendgrid_adapter import CUSTOM_ARG_REFERENCE

_CODE = re.compile(r"^(?:確認コード|Code)[:：]\s*(\d{4,8})", re.M)


def messages(stub_url: str, reference: str, timeout: float = 5.0) -> list[dict]:
    """The v3 payloads sent for ``reference``, oldest first."""
    received = httpx.get(f"{stub_url.rstrip('/')}/messages", timeout=timeout).json()
    return [m for m in received if m.get("custom_args", {}).get(CUSTOM_ARG_REFERENCE) == reference]


def text_of(message: dict) -> str:
    return next((c["value"] for c in message.get("content", []) if c.get("type") == "text/plain"), "")


def kind_of(message: dict) -> str:
    """The notice kind (the adapter's second category, after "madoguchi")."""
    categories = message.get("categories", [])
    return categories[1] if len(categories) > 1 else ""


def code_in(text: str) -> str | None:
    """The one-time code in the text of a code mail."""
    found = _CODE.search(text)
    return found.group(1) if found else None


def latest_code(stub_url: str, reference: str) -> str | None:
    """The one-time code of the newest code mail for ``reference``."""
    for message in reversed(messages(stub_url, reference)):
        if kind_of(message) == "one_time_code" and (code := code_in(text_of(message))):
            return code
    return None
