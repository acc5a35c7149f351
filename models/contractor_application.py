"""A contractor's application as it arrives (form, API, ``madoguchi contractor apply``):
validated here, never turned into table rows as it is."""

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import Field as PField

from models.rules.contractors import MAX_ANSWER, CertificationKind, Clause, SecurityCategory

Country = Annotated[str, PField(pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    country: Country
    role: Literal["storage", "handling"] = "storage"


class SubcontractorIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = PField(min_length=1, max_length=200)
    services: str = PField(min_length=1, max_length=500)
    country: Country


class CertificateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: CertificationKind
    expires_on: date


class QuestionnaireIn(BaseModel):
    """The security questionnaire (GL 10 categories, 0..3 each) and the commitments the
    hard blockers look at."""

    model_config = ConfigDict(extra="forbid")
    answers: dict[SecurityCategory, int] = PField(default_factory=dict)
    accepts_breach_notice: bool
    accepts_audit: bool
    subcontracts_without_approval: bool = False
    returns_or_deletes_at_end: bool

    @field_validator("answers")
    @classmethod
    def _levels(cls, answers: dict) -> dict:
        if any(not 0 <= v <= MAX_ANSWER for v in answers.values()):
            raise ValueError(f"each answer is 0..{MAX_ANSWER}")
        return answers


class ContractIn(BaseModel):
    """The draft contract, clause by clause."""

    model_config = ConfigDict(extra="forbid")
    clauses: list[Clause]
    breach_notice_days: int | None = PField(default=None, ge=0)
    stated_countries: list[Country] = PField(default_factory=list)


class ContractorApplication(BaseModel):
    """A contractor's application (form or API). Which systems and data categories exist is
    checked against the registry by the service."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = PField(min_length=1, max_length=200)
    services: str = PField(min_length=1, max_length=2000)
    systems: list[str] = PField(min_length=1)  # our systems whose data it receives
    data_categories: list[str] = PField(min_length=1)
    locations: list[LocationIn] = PField(min_length=1)
    subcontractors: list[SubcontractorIn] = PField(default_factory=list)
    certifications: list[CertificateIn] = PField(default_factory=list)
    questionnaire: QuestionnaireIn
    contract: ContractIn

    @property
    def countries(self) -> list[str]:
        """Everywhere the data is stored or handled, the subcontractors' countries included."""
        return sorted({loc.country for loc in self.locations} | {s.country for s in self.subcontractors})
