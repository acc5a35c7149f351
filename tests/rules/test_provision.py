from datetime import date

import pytest

from models.rules.provision import (
    Problem,
    ProvisionRequest,
    RecordItem,
    assess_provision,
    is_disclosable_record,
    is_lawful_record,
    record_retention_until,
)
from models.rules.vocabulary import ProvisionBasis as B


def test_art27_1_consent_on_record_allows_provision_with_a_record():
    decision = assess_provision(ProvisionRequest(B.CONSENT, consent_on_record=True))
    assert decision.allowed and decision.third_party_provision and decision.record_required
    assert decision.record_items == (
        RecordItem.CONSENT,
        RecordItem.RECIPIENT,
        RecordItem.PRINCIPAL,
        RecordItem.DATA_ITEMS,
    )


def test_art27_1_no_consent_no_exception_is_refused():
    decision = assess_provision(ProvisionRequest(B.CONSENT))
    assert not decision.allowed and decision.problems == (Problem.NO_CONSENT,)


def test_art27_1_i_written_police_inquiry_ccp_197_2_allowed_without_record():
    decision = assess_provision(ProvisionRequest(B.POLICE_WRITTEN_INQUIRY, written_request=True))
    assert decision.allowed and not decision.record_required and decision.record_items == ()
    assert "197(2)" in decision.article


def test_art27_1_i_police_inquiry_without_written_inquiry_is_refused():
    decision = assess_provision(ProvisionRequest(B.POLICE_WRITTEN_INQUIRY))
    assert not decision.allowed and decision.problems == (Problem.NO_WRITTEN_REQUEST,)


@pytest.mark.parametrize("basis", [B.WARRANT, B.BAR_ASSOCIATION_INQUIRY])
def test_art27_1_i_warrant_and_bar_association_inquiry_need_the_document(basis):
    assert assess_provision(ProvisionRequest(basis, written_request=True)).allowed
    assert not assess_provision(ProvisionRequest(basis)).allowed


@pytest.mark.parametrize("basis", [B.LAW, B.TAX_INVESTIGATION, B.ACADEMIC_RESEARCH])
def test_art27_1_law_tax_and_academic_exceptions(basis):
    decision = assess_provision(ProvisionRequest(basis))
    assert decision.allowed and not decision.record_required


@pytest.mark.parametrize("basis", [B.LIFE_BODY_PROPERTY, B.PUBLIC_HEALTH_CHILDREN])
def test_art27_1_ii_iii_only_when_consent_is_hard_to_get(basis):
    assert assess_provision(ProvisionRequest(basis, consent_hard_to_get=True)).allowed
    assert assess_provision(ProvisionRequest(basis)).problems == (Problem.CONSENT_NOT_HARD_TO_GET,)


def test_art27_1_iv_state_cooperation_when_asking_would_obstruct():
    assert assess_provision(ProvisionRequest(B.STATE_COOPERATION, asking_would_obstruct=True)).allowed
    assert not assess_provision(ProvisionRequest(B.STATE_COOPERATION)).allowed


@pytest.mark.parametrize(
    ("basis", "flag"),
    [
        (B.OUTSOURCING, "within_entrusted_purpose"),
        (B.JOINT_USE, "joint_use_announced"),
        (B.BUSINESS_SUCCESSION, None),
    ],
)
def test_art27_5_outsourcing_succession_joint_use_are_not_third_party_provision(basis, flag):
    decision = assess_provision(ProvisionRequest(basis, **({flag: True} if flag else {})))
    assert decision.allowed and not decision.third_party_provision and not decision.record_required
    assert decision.article.startswith("Art. 27(5)")


def test_art27_5_i_outsourcing_beyond_the_entrusted_purpose_is_refused():
    assert assess_provision(ProvisionRequest(B.OUTSOURCING)).problems == (Problem.OUTSIDE_ENTRUSTED_PURPOSE,)


def test_art28_foreign_recipient_needs_consent_with_regime_information():
    plain = assess_provision(ProvisionRequest(B.CONSENT, foreign_recipient=True, consent_on_record=True))
    assert plain.problems == (Problem.FOREIGN_WITHOUT_REGIME_CONSENT,)
    informed = assess_provision(
        ProvisionRequest(
            B.CONSENT, foreign_recipient=True, consent_on_record=True, consent_with_regime_info=True
        )
    )
    assert informed.allowed and informed.record_required


def test_art28_foreign_contractor_is_third_party_provision_unless_designated_or_equivalent():
    abroad = assess_provision(
        ProvisionRequest(B.OUTSOURCING, foreign_recipient=True, within_entrusted_purpose=True)
    )
    assert not abroad.allowed and abroad.third_party_provision and abroad.record_required
    equivalent = assess_provision(
        ProvisionRequest(
            B.OUTSOURCING,
            foreign_recipient=True,
            within_entrusted_purpose=True,
            country_designated_or_equivalent_system=True,
        )
    )
    assert equivalent.allowed and not equivalent.third_party_provision


def test_art28_statutory_exceptions_apply_abroad_too():
    assert assess_provision(ProvisionRequest(B.LAW, foreign_recipient=True)).allowed


def test_policy_protect_our_rights_is_not_a_basis_of_its_own():
    with pytest.raises(ValueError):
        B("protect_our_rights")
    assert not is_lawful_record("protect_our_rights")
    assert not is_lawful_record(None)
    assert is_lawful_record("consent") and is_lawful_record("bar_association_inquiry")


def test_rules_art21_records_kept_three_years():
    assert record_retention_until(date(2026, 4, 1)) == date(2029, 4, 1)
    assert record_retention_until(date(2028, 2, 29)) == date(2031, 2, 28)


def test_rules_art21_contract_as_record_kept_one_year_from_last_provision():
    assert record_retention_until(
        date(2025, 1, 10), contract_is_record=True, last_provision_on=date(2026, 6, 30)
    ) == date(2027, 6, 30)


@pytest.mark.parametrize(
    ("basis", "foreign", "disclosable"),
    [
        ("consent", False, True),
        ("consent", True, True),
        ("warrant", False, False),
        ("warrant", True, False),
        ("life_body_property", True, False),
        ("outsourcing", False, False),
        ("outsourcing", True, True),
        ("joint_use", False, False),
        ("joint_use", True, True),
        ("business_succession", True, True),
        ("protect_our_rights", False, True),
        (None, False, True),
    ],
)
def test_art33_5_one_rule_for_disclosable_records(basis, foreign, disclosable):
    assert is_disclosable_record(basis, foreign) is disclosable


def test_art33_5_disclosure_package_uses_the_rules_function():
    import disclosure.build

    assert disclosure.build.is_disclosable_record is is_disclosable_record
