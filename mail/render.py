"""Notices rendered from Jinja2 templates, Japanese and English, as text and HTML.

Each kind has ``templates/<lang>/<kind>.txt`` (its ``subject`` block is the subject line)
and ``<kind>.html``; HTML is autoescaped, so requester-supplied text cannot inject markup.
Undefined context keys raise: a notice with a hole in it is never sent.
"""

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from models.rules.reasons import LANGUAGES, reason_info

TEMPLATES = Path(__file__).parent / "templates"

KINDS = (
    "acknowledgement",
    "one_time_code",
    "documents_needed",
    "clarification_request",
    "fee_request",
    "extension",
    "decision",
    "opt_out_confirmation",
    "marketing",
    "privacy_officer_escalation",
    "sla_warning",
    "inquiry_acknowledgement",
    "inquiry_answer",
    "contractor_supervision",
    "daily_digest",
    "policy_revision",
    "leak_notice",
    "leak_report_deadline",
    "identity_confirmed",
)
MARKETING_KINDS = frozenset({"marketing"})


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()


def _date_ja(value) -> str:
    d = _as_date(value)
    return f"{d.year}年{d.month}月{d.day}日"


def _date_en(value) -> str:
    d = _as_date(value)
    return f"{d.day} {d:%B %Y}"


def _grouped(items) -> list[dict]:
    """A decision's items as lines: the parts with the same outcome and the same reasons listed
    on one line, in the order they first appear, so that a reason reads once, not once for
    each of up to eight systems."""
    lines: dict[tuple, dict] = {}
    for item in items:
        reasons = tuple(item.get("reasons", ()))
        line = lines.setdefault(
            (item["outcome"], reasons), {"outcome": item["outcome"], "reasons": list(reasons), "parts": []}
        )
        line["parts"].append(item)
    return list(lines.values())


def _unstated(reasons, items) -> list[str]:
    """The request's reasons that no item already gives (each reason is explained once)."""
    given = {code for item in items for code in item.get("reasons", ())}
    return [code for code in reasons if code not in given]


def _yen_ja(amount) -> str:
    return f"{int(amount):,}円"


def _yen_en(amount) -> str:
    return f"¥{int(amount):,}"


@cache
def _environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["date"] = _date_ja if language == "ja" else _date_en
    env.filters["yen"] = _yen_ja if language == "ja" else _yen_en
    env.filters["grouped"] = _grouped
    env.filters["unstated"] = _unstated
    env.globals["reason_info"] = reason_info
    env.globals["lang"] = language
    env.globals["labels"] = env.get_template(f"{language}/_labels.j2").module
    return env


def render(kind: str, language: str, context: dict) -> Rendered:
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    env = _environment(language)
    text_template = env.get_template(f"{language}/{kind}.txt")
    subject = "".join(text_template.blocks["subject"](text_template.new_context(dict(context))))
    subject = " ".join(subject.split())
    return Rendered(
        subject=subject,
        text=text_template.render(context),
        html=env.get_template(f"{language}/{kind}.html").render({**context, "subject": subject}),
    )


@dataclass(frozen=True)
class LetterText:
    subject: str
    body: str
    sender: str  # the date and the company's address block (``templates/<lang>/_letterhead.txt``)
    recipient: str  # the address and name (``_recipient.txt``), for a window envelope
    token: str  # the status token and where to use it (``_token.txt``), when the letter carries one


def render_letter(kind: str, language: str, context: dict) -> LetterText:
    """A notice as a letter: the email's subject and body blocks (not its email footer), the
    company's address block dated ``context["dated"]``, the recipient's ``name`` and
    ``postal_address``, and the ``status_token`` when given; the PDF is mail/letter.py."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    env = _environment(language)
    template = env.get_template(f"{language}/{kind}.txt")

    def block(name: str) -> str:
        return "".join(template.blocks[name](template.new_context(dict(context))))

    return LetterText(
        subject=" ".join(block("subject").split()),
        body=block("body").strip("\n"),
        sender=env.get_template(f"{language}/_letterhead.txt").render(context).strip(),
        recipient=env.get_template(f"{language}/_recipient.txt").render(context).strip(),
        token=env.get_template(f"{language}/_token.txt").render(context).strip()
        if context.get("status_token")
        else "",
    )


def render_page(name: str, context: dict) -> str:
    """A small web page of the mail routers (``templates/pages/<name>.html``)."""
    return _environment("ja").get_template(f"pages/{name}.html").render(context)
