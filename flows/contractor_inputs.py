"""The privacy officer's forms on a waiting contractor run (Prefect UI), which ``madoguchi
contractor`` fills in from the command line; and the assessment shown above them, rendered
from ``flows/templates/``. Labels are Japanese."""

from enum import StrEnum
from functools import cache
from pathlib import Path

import pydantic
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from prefect.input import RunInput
from pydantic import Field


class OfficerDecision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class RejectReason(StrEnum):
    NONE = "none"
    SECURITY_INSUFFICIENT = "security_insufficient"
    CONTRACT_INCOMPLETE = "contract_incomplete"
    DATA_NOT_NECESSARY = "data_not_necessary"   # more data than the work needs (RULES.md §7)
    OTHER = "other"


def approval_form(proposal: str) -> type[RunInput]:
    """Pre-filled with the rules' proposal, so confirming is one click."""
    return pydantic.create_model(
        "ContractorApproval", __base__=RunInput,
        decision=(OfficerDecision, Field(OfficerDecision(proposal), description=(
            "委託先の選定：承認（システム登録へ進む）または却下。契約条項に不足があると承認できません"))),
        reason=(RejectReason, Field(RejectReason.NONE, description="却下の理由（却下の場合）")),
        officer=(str, Field("privacy-officer", description="個人情報保護管理責任者")),
    )


class Disposition(StrEnum):
    DELETED = "deleted"
    RETURNED = "returned"


class DeletionCertificate(RunInput):
    disposition: Disposition = Field(Disposition.DELETED, description="委託終了時の個人データの取扱い（削除・返却）")
    certificate: str = Field(..., min_length=1, max_length=100, description="削除（返却）証明書の番号")
    officer: str = Field("privacy-officer", description="証明書を確認した担当者")


@cache
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                       undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def assessment_markdown(proposal: dict) -> str:
    """The officer's view of the assessment and contract checklist (codes, no company data)."""
    return _templates().get_template("contractor_assessment.ja.md").render(**proposal)


def offboarding_markdown(reference: str) -> str:
    return _templates().get_template("contractor_offboarding.ja.md").render(reference=reference)
