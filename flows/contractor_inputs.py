"""The privacy officer's forms on a waiting contractor run (Prefect UI), which ``madoguchi
contractor`` fills in from the command line; and the assessment shown above them, rendered
from ``flows/templates/``. No decision has a default (see flows/forms.py)."""

from flows.forms import Required, choice, simple_form, templates

ContractorApproval = simple_form(
    "ContractorApproval",
    decision=choice("contractor_decision", ["approve", "reject"]),
    reason=(
        choice(
            "reject_reason",
            [
                "none",
                "security_insufficient",
                "contract_incomplete",
                # more data than the work needs (docs/rules.md §7)
                "data_not_necessary",
                "other",
            ],
        ),
        "none",
    ),
)

DeletionCertificate = simple_form(
    "DeletionCertificate", disposition=choice("disposition", ["deleted", "returned"]), certificate=Required
)


def assessment_markdown(proposal: dict) -> str:
    """The officer's view of the assessment and contract checklist (codes, no company data)."""
    return templates().get_template("contractor_assessment.ja.md").render(**proposal)


def offboarding_markdown(reference: str) -> str:
    return templates().get_template("contractor_offboarding.ja.md").render(reference=reference)
