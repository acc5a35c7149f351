"""The forms operators and the privacy officer fill in on a waiting request run (Prefect UI),
and that ``madoguchi operator`` fills in from the command line. No decision has a default:
the pre-screen's proposal is shown above the form and a person chooses (see flows/forms.py
for the Japanese titles and labels)."""

from typing import Any

import pydantic

from flows.forms import Form, choice, field, simple_form, templates, wait_text, words
from models.rules.decisions import ItemAction, allowed_item_codes
from models.rules.identity import Callback as CallbackOutcome
from models.rules.identity import PostalCheck
from models.rules.reasons import reason_texts
from models.rules.vocabulary import ReasonCode, RequestType

IdentityReview = simple_form(
    "IdentityReview",
    outcome=choice("identity_outcome", ["verified", "identity_not_verified", "agent_authority_not_shown"]),
)

PostalReview = simple_form("PostalReview", outcome=choice("postal_outcome", list(PostalCheck)))

Callback = simple_form("Callback", outcome=choice("callback_outcome", list(CallbackOutcome)))

Approval = simple_form("Approval", approve=choice("approval", ["approve", "send_back"]))

Payment = simple_form("Payment", paid=choice("payment", ["paid", "unpaid"]), method=(str, "bank_transfer"))

FailedAction = simple_form(
    "FailedAction", decision=choice("failure", ["retry", "skip", "done_by_hand"]), reason=(str, "")
)

Action = choice("item_action", list(ItemAction))
# A reason code that fits an item of some request type, or none: an explicit "none" reads
# better than an optional field in the UI.
Reason = choice(
    "reason", ["none", *(c for c in ReasonCode if any(c in allowed_item_codes(t) for t in RequestType))]
)


def review_form(items: list[dict]) -> type[Form]:
    """One action and one reason per decision item, to be chosen (the proposal is above the
    form). ``items``: ``item_key``, ``proposed_action``, ``proposed_reasons`` (references only)."""
    fields: dict[str, Any] = {"clarification": field("FeasibilityReview", "clarification", str, "")}
    for item in items:
        name, key = field_name(item["item_key"]), item["item_key"]
        fields[f"{name}__action"] = field("FeasibilityReview", "action", Action, item=key)
        fields[f"{name}__reason"] = field("FeasibilityReview", "reason", Reason, "none", item=key)
    return pydantic.create_model("FeasibilityReview", __base__=Form, **fields)


def field_name(item_key: str) -> str:
    return item_key.replace(":", "__").replace("*", "any").replace("-", "_")


def proposed_answer(items: list[dict]) -> dict[str, str]:
    """The review form's item fields as the pre-screen proposes them (codes): what the command
    line and the demo submit unless told otherwise."""
    answer = {}
    for item in items:
        reasons = item.get("proposed_reasons") or []
        answer[f"{field_name(item['item_key'])}__action"] = str(item["proposed_action"])
        answer[f"{field_name(item['item_key'])}__reason"] = str(reasons[0]) if reasons else "none"
    return answer


def decisions_from(form: Form, items: list[dict]) -> dict[str, tuple[str, list[str]]]:
    """The form's answer as the review service takes it: item_key → (action, reason codes)."""
    out = {}
    for item in items:
        name = field_name(item["item_key"])
        action, reason = getattr(form, f"{name}__action").code, getattr(form, f"{name}__reason").code
        out[item["item_key"]] = (action, [] if reason == "none" else [reason])
    return out


def review_markdown(summary, refused: dict[str, list[str]] | None = None) -> str:
    """What the operator reads above the review form: each system's record count, the
    proposal and its reasons with the words the requester would be sent (no personal data);
    with ``refused``, why the last answer was not taken."""
    codes = [c for item in summary.items for c in item.reasons]
    return (
        templates()
        .get_template("review.ja.md")
        .render(
            reference=summary.reference,
            request_type=str(summary.request_type),
            outcome=str(summary.outcome),
            items=summary.items,
            actions=words()["choices"]["item_action"],
            reasons=words()["choices"]["reason"],
            messages=reason_texts(codes, "ja", summary.request_type),
            refused=wait_text("refused_answer", problems=sorted(refused.items())) + "\n\n" if refused else "",
        )
    )
