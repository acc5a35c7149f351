import pytest

from models.rules.identity import (
    REQUIREMENTS,
    SHOWS,
    Contact,
    assess_identity,
    document_kinds,
    match_principal,
    missing_documents,
)
from models.rules.identity import (
    DocumentKind as D,
)
from models.rules.identity import (
    Evidence as E,
)
from models.rules.identity import (
    IdentityStatus as S,
)
from models.rules.vocabulary import ReasonCode as R
from models.rules.vocabulary import Role


def keys(verdict):
    return [r.key for r in verdict.missing]


# --- evidence per role (Art. 37; Order Arts. 12–13) ------------------------------------------


def kinds(requirements):
    return [k for r in requirements for k in document_kinds(r)]


@pytest.mark.parametrize(
    ("role", "authority"),
    [(Role.APPOINTED_AGENT, D.POWER_OF_ATTORNEY), (Role.LEGAL_REPRESENTATIVE, D.LEGAL_REPRESENTATION)],
)
def test_order_art13_an_agent_uploads_their_own_identity_document_and_their_authority(role, authority):
    assert kinds(missing_documents(role, [])) == [D.AGENT_IDENTITY_DOCUMENT, authority]
    [authority_missing] = missing_documents(role, [D.AGENT_IDENTITY_DOCUMENT, D.IDENTITY_DOCUMENT])
    assert authority_missing.reason is R.AGENT_AUTHORITY_NOT_SHOWN
    [identity_missing] = missing_documents(role, [authority, authority])
    assert identity_missing.reason is R.IDENTITY_NOT_VERIFIED
    uploaded = [D.AGENT_IDENTITY_DOCUMENT, authority]
    assert missing_documents(role, uploaded) == ()
    # the uploads are what an operator then judges: accepted, they meet every requirement
    accepted = {E.RECORD_MATCH} | set().union(*(SHOWS[k] for k in uploaded))
    if authority is D.LEGAL_REPRESENTATION:
        accepted -= {E.FAMILY_REGISTER_OR_RESIDENT_RECORD}  # a guardian's certificate alone will do
    assert assess_identity(role, accepted).status is S.VERIFIED


def test_rules_4_a_principal_is_never_asked_to_upload_documents():
    assert missing_documents(Role.PRINCIPAL, []) == ()


def test_art37_principal_needs_record_match_and_one_time_code():
    assert assess_identity(Role.PRINCIPAL, {E.RECORD_MATCH, E.ONE_TIME_CODE}).status is S.VERIFIED
    verdict = assess_identity(Role.PRINCIPAL, {E.RECORD_MATCH})
    assert verdict.status is S.MISSING and keys(verdict) == ["principal_identity"] and verdict.reason is None
    assert assess_identity(Role.PRINCIPAL, {E.ONE_TIME_CODE}).status is S.MISSING


def test_rules_4_principal_postal_route_needs_id_copy_and_registered_mail_reply():
    postal = {E.RECORD_MATCH, E.IDENTITY_DOCUMENT_COPY, E.REGISTERED_MAIL_REPLY}
    assert assess_identity(Role.PRINCIPAL, postal).status is S.VERIFIED
    for half in (E.IDENTITY_DOCUMENT_COPY, E.REGISTERED_MAIL_REPLY):
        verdict = assess_identity(Role.PRINCIPAL, {E.RECORD_MATCH, half})
        assert verdict.status is S.MISSING and keys(verdict) == ["principal_identity"]


def test_rules_4_principal_phone_route_is_registered_details_plus_call_back():
    assert assess_identity(Role.PRINCIPAL, {E.RECORD_MATCH, E.PHONE_CALLBACK}).status is S.VERIFIED
    # the registered details are the record match: a call-back alone proves nothing
    verdict = assess_identity(Role.PRINCIPAL, {E.PHONE_CALLBACK})
    assert verdict.status is S.MISSING and keys(verdict) == ["principal_record"]


def test_art37_principal_documents_do_not_replace_the_code():
    verdict = assess_identity(
        Role.PRINCIPAL, {E.RECORD_MATCH, E.POWER_OF_ATTORNEY, E.AGENT_IDENTITY_DOCUMENT}
    )
    assert verdict.status is S.MISSING


def test_rules_4_failed_one_time_code_leaves_the_postal_and_phone_routes_open():
    verdict = assess_identity(Role.PRINCIPAL, {E.RECORD_MATCH}, {E.ONE_TIME_CODE})
    assert verdict.status is S.MISSING and keys(verdict) == ["principal_identity"]
    verified = assess_identity(Role.PRINCIPAL, {E.RECORD_MATCH, E.PHONE_CALLBACK}, {E.ONE_TIME_CODE})
    assert verified.status is S.VERIFIED


def test_art37_every_principal_route_failed_refuses_with_identity_not_verified():
    verdict = assess_identity(
        Role.PRINCIPAL,
        {E.RECORD_MATCH, E.REGISTERED_MAIL_REPLY},
        {E.ONE_TIME_CODE, E.PHONE_CALLBACK, E.IDENTITY_DOCUMENT_COPY},
    )
    assert (verdict.status, verdict.reason) == (S.REFUSED, R.IDENTITY_NOT_VERIFIED)
    # one rejected piece of the postal route is not yet a refusal while the others remain
    open_ = assess_identity(Role.PRINCIPAL, {E.RECORD_MATCH}, {E.ONE_TIME_CODE, E.IDENTITY_DOCUMENT_COPY})
    assert open_.status is S.MISSING


def test_art37_failed_one_time_code_after_the_deadline_refuses():
    verdict = assess_identity(Role.PRINCIPAL, {E.RECORD_MATCH}, {E.ONE_TIME_CODE}, deadline_passed=True)
    assert (verdict.status, verdict.reason) == (S.REFUSED, R.IDENTITY_NOT_VERIFIED)


def test_art37_no_matching_customer_record_refuses_with_identity_not_verified():
    verdict = assess_identity(Role.APPOINTED_AGENT, {E.POWER_OF_ATTORNEY}, {E.RECORD_MATCH})
    assert (verdict.status, verdict.reason) == (S.REFUSED, R.IDENTITY_NOT_VERIFIED)


@pytest.mark.parametrize("proof", [E.FAMILY_REGISTER_OR_RESIDENT_RECORD, E.GUARDIANSHIP_REGISTRY_CERTIFICATE])
def test_order_art13_legal_representative_own_identity_plus_proof_of_representation(proof):
    assert (
        assess_identity(Role.LEGAL_REPRESENTATIVE, {E.RECORD_MATCH, E.AGENT_IDENTITY_DOCUMENT, proof}).status
        is S.VERIFIED
    )


def test_order_art13_legal_representative_missing_proof_is_asked_for():
    verdict = assess_identity(Role.LEGAL_REPRESENTATIVE, {E.RECORD_MATCH, E.AGENT_IDENTITY_DOCUMENT})
    assert verdict.status is S.MISSING and keys(verdict) == ["legal_representation"]


def test_order_art13_legal_representative_one_rejected_proof_leaves_the_other_possible():
    verdict = assess_identity(
        Role.LEGAL_REPRESENTATIVE,
        {E.RECORD_MATCH, E.AGENT_IDENTITY_DOCUMENT},
        {E.FAMILY_REGISTER_OR_RESIDENT_RECORD},
    )
    assert verdict.status is S.MISSING
    both = {E.FAMILY_REGISTER_OR_RESIDENT_RECORD, E.GUARDIANSHIP_REGISTRY_CERTIFICATE}
    refused = assess_identity(Role.LEGAL_REPRESENTATIVE, {E.RECORD_MATCH, E.AGENT_IDENTITY_DOCUMENT}, both)
    assert (refused.status, refused.reason) == (S.REFUSED, R.AGENT_AUTHORITY_NOT_SHOWN)


def test_order_art13_appointed_agent_needs_power_of_attorney_not_seal_certificate():
    without_seal = {E.RECORD_MATCH, E.AGENT_IDENTITY_DOCUMENT, E.POWER_OF_ATTORNEY}
    assert assess_identity(Role.APPOINTED_AGENT, without_seal).status is S.VERIFIED
    assert (
        assess_identity(Role.APPOINTED_AGENT, without_seal | {E.SEAL_REGISTRATION_CERTIFICATE}).status
        is S.VERIFIED
    )
    verdict = assess_identity(Role.APPOINTED_AGENT, {E.RECORD_MATCH})
    assert keys(verdict) == ["agent_identity", "power_of_attorney"]


def test_rules_4_a_seal_certificate_does_not_replace_the_power_of_attorney():
    verdict = assess_identity(
        Role.APPOINTED_AGENT, {E.RECORD_MATCH, E.AGENT_IDENTITY_DOCUMENT, E.SEAL_REGISTRATION_CERTIFICATE}
    )
    assert verdict.status is S.MISSING and keys(verdict) == ["power_of_attorney"]


def test_rules_4_a_rejected_seal_certificate_does_not_refuse_the_agent():
    verdict = assess_identity(
        Role.APPOINTED_AGENT,
        {E.RECORD_MATCH, E.AGENT_IDENTITY_DOCUMENT, E.POWER_OF_ATTORNEY},
        {E.SEAL_REGISTRATION_CERTIFICATE},
    )
    assert verdict.status is S.VERIFIED


@pytest.mark.parametrize(
    "route", [{E.PHONE_CALLBACK}, {E.IDENTITY_DOCUMENT_COPY, E.REGISTERED_MAIL_REPLY}, {E.ONE_TIME_CODE}]
)
def test_rules_4_principal_routes_do_not_replace_an_agents_authority(route):
    verdict = assess_identity(Role.APPOINTED_AGENT, {E.RECORD_MATCH, E.AGENT_IDENTITY_DOCUMENT} | route)
    assert verdict.status is S.MISSING and keys(verdict) == ["power_of_attorney"]
    verdict = assess_identity(Role.LEGAL_REPRESENTATIVE, {E.RECORD_MATCH, E.AGENT_IDENTITY_DOCUMENT} | route)
    assert verdict.status is S.MISSING and keys(verdict) == ["legal_representation"]


def test_art37_3_appointed_agent_with_rejected_power_of_attorney_is_refused():
    verdict = assess_identity(
        Role.APPOINTED_AGENT, {E.RECORD_MATCH, E.AGENT_IDENTITY_DOCUMENT}, {E.POWER_OF_ATTORNEY}
    )
    assert (verdict.status, verdict.reason) == (S.REFUSED, R.AGENT_AUTHORITY_NOT_SHOWN)


def test_art37_agent_whose_own_identity_fails_is_identity_not_verified():
    verdict = assess_identity(
        Role.APPOINTED_AGENT, {E.RECORD_MATCH, E.POWER_OF_ATTORNEY}, {E.AGENT_IDENTITY_DOCUMENT}
    )
    assert verdict.reason is R.IDENTITY_NOT_VERIFIED


def test_art37_3_documents_missing_after_the_deadline_are_a_refusal():
    verdict = assess_identity(
        Role.APPOINTED_AGENT, {E.RECORD_MATCH, E.AGENT_IDENTITY_DOCUMENT}, deadline_passed=True
    )
    assert (verdict.status, verdict.reason) == (S.REFUSED, R.AGENT_AUTHORITY_NOT_SHOWN)
    verdict = assess_identity(Role.PRINCIPAL, {E.RECORD_MATCH}, deadline_passed=True)
    assert verdict.reason is R.IDENTITY_NOT_VERIFIED


def test_every_role_requires_the_customer_record_match():
    assert set(REQUIREMENTS) == set(Role)
    for requirements in REQUIREMENTS.values():
        assert requirements[0].any_of == {E.RECORD_MATCH}


# --- matching the customer record ---------------------------------------------------------------

RECORD = Contact(
    email="taro@example.co.jp", login_id="A1234567", phone="03-1234-5678", company="株式会社サンプル"
)


def test_rules_4_email_and_one_more_field_match():
    result = match_principal(Contact(email="Taro@Example.co.jp ", login_id="a1234567"), RECORD)
    assert result.matched and result.matched_fields == ("email", "login_id")


def test_rules_4_email_alone_is_not_enough_when_the_record_holds_more():
    assert not match_principal(Contact(email="taro@example.co.jp"), RECORD).matched


def test_rules_4_a_wrong_email_never_matches():
    result = match_principal(
        Contact(
            email="other@example.co.jp", login_id="A1234567", phone="0312345678", company="株式会社サンプル"
        ),
        RECORD,
    )
    assert not result.matched and result.mismatched_fields == ("email",)


def test_rules_4_no_demand_for_more_than_the_company_holds():
    record = Contact(email="taro@example.co.jp")
    assert match_principal(Contact(email="taro@example.co.jp", phone="090-0000-0000"), record).matched


def test_rules_4_phone_and_company_are_normalised():
    assert match_principal(Contact(email="taro@example.co.jp", phone="+81 3 1234 5678"), RECORD).matched
    assert match_principal(
        Contact(email="taro@example.co.jp", phone="０３（１２３４）５６７８"), RECORD
    ).matched
    assert match_principal(Contact(email="taro@example.co.jp", company="㈱サンプル"), RECORD).matched
    assert match_principal(Contact(email="taro@example.co.jp", company="(株) サンプル"), RECORD).matched


def test_rules_4_a_changed_phone_is_reported_but_another_field_still_matches():
    result = match_principal(
        Contact(email="taro@example.co.jp", phone="03-9999-0000", company="株式会社サンプル"), RECORD
    )
    assert result.matched and result.mismatched_fields == ("phone",)
