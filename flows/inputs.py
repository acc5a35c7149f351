"""The forms operators and the privacy officer fill in on a waiting flow run (Prefect UI), and
that ``madoguchi operator`` fills in from the command line. Labels are Japanese: operators
read Japanese. Defaults come from the pre-screen, so confirming is one click."""

from enum import StrEnum

import pydantic
from pydantic import Field
from prefect.input import RunInput

from models.rules.decisions import ItemAction
from models.rules.vocabulary import ReasonCode


class IdentityOutcome(StrEnum):
    VERIFIED = "verified"
    IDENTITY_NOT_VERIFIED = "identity_not_verified"
    AGENT_AUTHORITY_NOT_SHOWN = "agent_authority_not_shown"


class IdentityReview(RunInput):
    outcome: IdentityOutcome = Field(
        IdentityOutcome.VERIFIED,
        description="本人確認の結果（代理人は本人確認書類と代理権を証する書類を確認）",
    )
    operator: str = Field("operator", description="確認した担当者")


# A reason code, or none: an enum with an explicit "none" renders better than Optional in the UI.
Reason = StrEnum("Reason", {"NONE": "none", **{c.name: c.value for c in ReasonCode}})


def review_form(items: list[dict]) -> type[RunInput]:
    """One action and one reason per decision item, pre-filled with the pre-screen's proposal.

    ``items``: ``item_key``, ``proposed_action``, ``proposed_reasons`` (references only)."""
    fields: dict = {
        "operator": (str, Field("operator", description="判断した担当者")),
        "clarification": (str, Field("", description=(
            "請求内容が不明確な場合の質問（記入すると、判断せずに請求者へ確認を依頼し、期限を停止します）"))),
    }
    for item in items:
        name = field_name(item["item_key"])
        reasons = item.get("proposed_reasons") or []
        fields[f"{name}__action"] = (ItemAction, Field(
            ItemAction(item["proposed_action"]), description=f"{item['item_key']}: 判断"))
        fields[f"{name}__reason"] = (Reason, Field(
            Reason(reasons[0]) if reasons else Reason.NONE,
            description=f"{item['item_key']}: 理由コード（開示しない・一部のみの場合は必須）"))
    return pydantic.create_model("FeasibilityReview", __base__=RunInput, **fields)


def field_name(item_key: str) -> str:
    return item_key.replace(":", "__").replace("*", "any").replace("-", "_")


def decisions_from(form: RunInput, items: list[dict]) -> dict[str, tuple[str, list[str]]]:
    """The form's answer as the review service takes it: item_key → (action, reason codes)."""
    values = form.model_dump()
    out = {}
    for item in items:
        name = field_name(item["item_key"])
        action, reason = values[f"{name}__action"], values[f"{name}__reason"]
        out[item["item_key"]] = (str(action), [] if reason == Reason.NONE else [str(reason)])
    return out


class Approval(RunInput):
    approve: bool = Field(True, description="不開示・一部開示の判断を承認する（オフにすると差し戻し）")
    officer: str = Field("privacy-officer", description="個人情報保護管理責任者")


class Payment(RunInput):
    paid: bool = Field(True, description="手数料の入金を確認した")
    method: str = Field("bank_transfer", description="支払方法（bank_transfer, card, postal_order など）")
    operator: str = Field("operator", description="確認した担当者")


class FailureChoice(StrEnum):
    RETRY = "retry"
    SKIP = "skip"
    DONE_BY_HAND = "done_by_hand"


class SystemFailure(RunInput):
    decision: FailureChoice = Field(FailureChoice.RETRY, description="再試行・理由を付けてスキップ・手作業で完了")
    reason: str = Field("", description="スキップの理由（スキップ時は必須）")
    operator: str = Field("operator", description="判断した担当者")
