from datetime import date

import pytest

from models.rules.decisions import OPERATOR_ONLY_CODES, decision_problems
from models.rules.decisions import ItemAction as A
from models.rules.prescreen import (
    Correction,
    Holding,
    PrescreenPolicy,
    PriorRequest,
    RecordedFacts,
    RequestFacts,
    ground_supported,
    is_business_interference,
    prescreen,
    still_needed,
)
from models.rules.vocabulary import (
    Delivery,
    Origin,
    Outcome,
)
from models.rules.vocabulary import (
    GroundCode as G,
)
from models.rules.vocabulary import (
    ReasonCode as R,
)
from models.rules.vocabulary import (
    RequestType as T,
)
from models.rules.vocabulary import (
    SystemAction as S,
)

RECEIVED = date(2026, 11, 20)


def demo_holdings(**overrides) -> tuple[Holding, ...]:
    holdings = {
        "customers": Holding("customers", 1, values={"phone": "03-1234-5678", "title": "課長"}),
        "orders": Holding("orders", 3),
        "billing": Holding(
            "billing", 2, retention_duty=True, values={"billing_address": "東京都江東区豊洲3-2-3"}
        ),
        "marketing": Holding("marketing", 1, advertising=True),
        "support": Holding("support", 1, electronic_copy=True),
    }
    holdings.update(overrides)
    return tuple(holdings.values())


def facts(request_type, **kw) -> RequestFacts:
    kw.setdefault("holdings", demo_holdings())
    return RequestFacts(request_type=request_type, received_on=RECEIVED, **kw)


def by_key(proposal):
    return {i.key: i for i in proposal.items}


# --- §0 retained personal data --------------------------------------------------------------


def test_art16_4_order_art5_authority_inquiry_data_is_answered_as_not_held():
    holdings = demo_holdings(support=Holding("support", 2, origin=Origin.AUTHORITY_INQUIRY))
    proposal = prescreen(facts(T.DISCLOSURE, holdings=holdings))
    support = by_key(proposal)["support"]
    assert support.action is A.NOT_HELD and support.reasons == (R.NO_RETAINED_PERSONAL_DATA,)
    assert support.system_action is None
    # the rest is disclosed and nothing in the outcome hints at the withheld part
    assert proposal.outcome is Outcome.GRANTED
    assert proposal.reasons == ()


def test_order_art5_withheld_data_looks_exactly_like_an_empty_system():
    withheld = prescreen(
        facts(
            T.DISCLOSURE,
            holdings=demo_holdings(support=Holding("support", 2, origin=Origin.AUTHORITY_INQUIRY)),
        )
    )
    empty = prescreen(facts(T.DISCLOSURE, holdings=demo_holdings(support=Holding("support", 0))))
    assert withheld == empty


def test_art16_4_data_held_for_another_company_is_not_retained_personal_data():
    holdings = (Holding("delivery_contractor", 4, origin=Origin.HELD_FOR_OTHER_COMPANY),)
    proposal = prescreen(facts(T.ERASURE, holdings=holdings, ground_codes=frozenset({G.RIGHTS_HARMED})))
    assert proposal.items[0].action is A.NOT_HELD


def test_art33_3_nothing_held_anywhere_is_still_answered_with_no_retained_personal_data():
    holdings = (Holding("customers", 0), Holding("orders", 0))
    proposal = prescreen(facts(T.DISCLOSURE, holdings=holdings))
    assert [i.action for i in proposal.items] == [A.NOT_HELD, A.NOT_HELD]
    assert proposal.outcome is Outcome.GRANTED
    assert proposal.reasons == (R.NO_RETAINED_PERSONAL_DATA,)


# --- purpose notification --------------------------------------------------------------------


def test_art32_2_purpose_notification_is_granted_although_purposes_are_published():
    proposal = prescreen(facts(T.PURPOSE_NOTIFICATION))
    assert [(i.key, i.action) for i in proposal.items] == [("purposes", A.GRANT)]
    assert proposal.outcome is Outcome.GRANTED


def test_art32_2_purpose_notification_with_nothing_held_says_so():
    proposal = prescreen(facts(T.PURPOSE_NOTIFICATION, holdings=(Holding("customers", 0),)))
    assert proposal.items[0].action is A.NOT_HELD
    assert proposal.reasons == (R.NO_RETAINED_PERSONAL_DATA,)


# --- disclosure ---------------------------------------------------------------------------------


def test_art33_1_disclosure_exports_every_system_holding_data():
    proposal = prescreen(facts(T.DISCLOSURE))
    assert all(i.action is A.GRANT and i.system_action is S.EXPORT for i in proposal.items)
    assert [i.system_key for i in proposal.items] == [
        "customers",
        "orders",
        "billing",
        "marketing",
        "support",
    ]


def test_rules_art30_electronic_copy_impossible_is_disclosed_on_paper_and_said_so():
    holdings = demo_holdings(support=Holding("support", 1, electronic_copy=False))
    items = by_key(prescreen(facts(T.DISCLOSURE, holdings=holdings)))
    assert items["support"].paper_instead and items["support"].action is A.GRANT
    assert not items["orders"].paper_instead
    postal = by_key(prescreen(facts(T.DISCLOSURE, holdings=holdings, delivery=Delivery.POSTAL)))
    assert not postal["support"].paper_instead


def prior(n, days_apart=20, request_type=T.DISCLOSURE):
    return tuple(
        PriorRequest(request_type, date.fromordinal(RECEIVED.toordinal() - days_apart * (k + 1)))
        for k in range(n)
    )


BIG = demo_holdings(analytics=Holding("analytics", 1500))


def test_art33_2_ii_volume_alone_is_not_business_interference():
    proposal = prescreen(facts(T.DISCLOSURE, holdings=BIG))
    assert proposal.outcome is Outcome.GRANTED


def test_art33_2_ii_repetition_alone_is_not_business_interference():
    proposal = prescreen(facts(T.DISCLOSURE, prior_requests=prior(4)))
    assert proposal.outcome is Outcome.GRANTED


def test_art33_2_ii_repeated_identical_complex_requests_are_business_interference():
    proposal = prescreen(facts(T.DISCLOSURE, holdings=BIG, prior_requests=prior(2)))
    assert proposal.outcome is Outcome.REFUSED
    assert {i.reasons for i in proposal.items} == {(R.BUSINESS_INTERFERENCE,)}
    assert proposal.reasons == (R.BUSINESS_INTERFERENCE,)


def test_art33_2_ii_requests_of_another_type_or_long_ago_are_not_repeats():
    other = prior(3, request_type=T.PURPOSE_NOTIFICATION)
    assert not is_business_interference(
        facts(T.DISCLOSURE, holdings=BIG, prior_requests=other), PrescreenPolicy()
    )
    old = prior(2, days_apart=60)  # 60 and 120 days ago: only one within 90 days
    assert not is_business_interference(
        facts(T.DISCLOSURE, holdings=BIG, prior_requests=old), PrescreenPolicy()
    )


def test_art33_5_third_party_records_are_disclosed_when_the_law_required_them():
    recorded = RecordedFacts(provision_bases=(("consent", False),))
    items = by_key(prescreen(facts(T.DISCLOSURE, include_third_party_records=True, recorded=recorded)))
    assert items["third_party_records"].action is A.GRANT
    assert items["third_party_records"].system_action is S.EXPORT


def test_art33_5_no_records_for_statutory_exceptions_or_outsourcing():
    recorded = RecordedFacts(provision_bases=(("police_written_inquiry", False), ("outsourcing", False)))
    proposal = prescreen(facts(T.DISCLOSURE, include_third_party_records=True, recorded=recorded))
    assert by_key(proposal)["third_party_records"].action is A.NOT_HELD
    assert proposal.outcome is Outcome.GRANTED


def test_art33_5_records_not_asked_for_are_not_an_item():
    recorded = RecordedFacts(provision_bases=(("consent", False),))
    assert "third_party_records" not in by_key(prescreen(facts(T.DISCLOSURE, recorded=recorded)))


def test_operator_only_grounds_are_never_proposed():
    for request_type in T:
        proposal = prescreen(
            facts(
                request_type,
                holdings=BIG,
                prior_requests=prior(3, request_type=request_type),
                corrections=(Correction("phone", None, "03-0000-0000"),),
            )
        )
        assert not OPERATOR_ONLY_CODES & {c for i in proposal.items for c in i.reasons}


# --- correction -----------------------------------------------------------------------------------


def test_art34_untrue_content_is_corrected():
    proposal = prescreen(
        facts(T.CORRECTION, corrections=(Correction("phone", "03-1234-5678", "03-9999-0000"),))
    )
    item = by_key(proposal)["customers:phone"]
    assert (item.action, item.system_action, item.system_key) == (A.GRANT, S.RECTIFY, "customers")
    assert proposal.outcome is Outcome.GRANTED


def test_art34_requested_value_already_held_is_content_accurate():
    proposal = prescreen(facts(T.CORRECTION, corrections=(Correction("phone", None, "03-1234-5678"),)))
    assert by_key(proposal)["customers:phone"].reasons == (R.CONTENT_ACCURATE,)
    assert proposal.outcome is Outcome.REFUSED


def test_art34_claimed_current_value_not_what_is_held_is_content_accurate():
    proposal = prescreen(
        facts(T.CORRECTION, corrections=(Correction("phone", "03-5555-5555", "03-9999-0000"),))
    )
    assert by_key(proposal)["customers:phone"].action is A.REFUSE


def test_art34_comparison_ignores_width_and_spacing():
    proposal = prescreen(
        facts(T.CORRECTION, corrections=(Correction("phone", "０３-1234-5678 ", "03-9999-0000"),))
    )
    assert by_key(proposal)["customers:phone"].action is A.GRANT


def test_art34_one_item_per_field_and_system_partial_outcome():
    corrections = (
        Correction("phone", None, "03-9999-0000"),
        Correction("title", "課長", "課長"),
        Correction("billing_address", None, "大阪府大阪市北区1-1"),
    )
    proposal = prescreen(facts(T.CORRECTION, corrections=corrections))
    items = by_key(proposal)
    assert set(items) == {"customers:phone", "customers:title", "billing:billing_address"}
    assert items["customers:title"].action is A.REFUSE
    assert items["billing:billing_address"].action is A.GRANT
    assert proposal.outcome is Outcome.PARTIALLY_GRANTED
    assert proposal.reasons == (R.CONTENT_ACCURATE,)


def test_art34_field_held_nowhere_is_not_held():
    proposal = prescreen(facts(T.CORRECTION, corrections=(Correction("fax", None, "03-1111-2222"),)))
    assert [(i.key, i.action) for i in proposal.items] == [("*:fax", A.NOT_HELD)]


# --- suspension / erasure (Art. 35(1), (5)) -------------------------------------------------------


def test_art35_1_no_stated_ground_is_no_statutory_ground():
    proposal = prescreen(facts(T.ERASURE))
    assert {i.reasons for i in proposal.items} == {(R.NO_STATUTORY_GROUND,)}
    assert proposal.outcome is Outcome.REFUSED


def test_art35_5_escaping_billing_is_not_a_risk_of_harm():
    # "rights harmed" stated, but nothing on record supports it
    proposal = prescreen(facts(T.ERASURE, ground_codes=frozenset({G.RIGHTS_HARMED})))
    assert proposal.outcome is Outcome.REFUSED
    assert by_key(proposal)["billing"].reasons == (R.NO_STATUTORY_GROUND,)


def test_art35_5_removing_credit_screening_data_still_needed_is_not_no_longer_needed():
    holdings = (Holding("billing", 2, still_needed=True),)
    proposal = prescreen(facts(T.ERASURE, holdings=holdings, ground_codes=frozenset({G.NO_LONGER_NEEDED})))
    assert proposal.items[0].reasons == (R.NO_STATUTORY_GROUND,)


def test_art35_5_no_longer_needed_must_hold_for_every_purpose_per_system():
    holdings = (Holding("analytics", 5, still_needed=False), Holding("orders", 3, still_needed=True))
    proposal = prescreen(facts(T.ERASURE, holdings=holdings, ground_codes=frozenset({G.NO_LONGER_NEEDED})))
    items = by_key(proposal)
    assert (items["analytics"].action, items["analytics"].system_action) == (A.GRANT, S.ERASE)
    assert items["orders"].reasons == (R.NO_STATUTORY_GROUND,)
    assert proposal.outcome is Outcome.PARTIALLY_GRANTED


@pytest.mark.parametrize(
    "closed_on, last_active_on, needed",
    [
        (None, None, True),  # an open account: the customer may order again
        (None, date(2020, 1, 1), True),  # however long ago the last order was
        (date(2024, 11, 20), date(2024, 10, 1), False),  # closed two years ago, quiet since
        (date(2025, 11, 21), None, True),  # closed a day short of a year ago
        (date(2025, 11, 20), None, False),  # closed a year ago to the day
        (date(2025, 11, 20), date(2024, 1, 1), False),
        (date(2024, 11, 20), date(2026, 1, 5), True),  # an invoice paid after the closing restarts it
    ],
)
def test_art35_5_no_longer_needed_a_year_after_the_closing_or_the_last_activity(
    closed_on, last_active_on, needed
):
    assert still_needed(closed_on, last_active_on, RECEIVED) is needed


def test_art35_5_after_care_from_a_leap_day_ends_on_28_february():
    closed = date(2024, 2, 29)
    assert still_needed(closed, None, date(2025, 2, 27))
    assert not still_needed(closed, None, date(2025, 2, 28))
    assert still_needed(closed, None, date(2025, 2, 28), PrescreenPolicy(after_care_years=2))


def test_art35_5_a_closed_account_proposes_erasure_and_keeps_billing_restricted():
    """Every system's data no longer needed: erased where the system can, billing restricted
    until the bookkeeping period ends (Art. 35(2) proviso)."""
    gone = not still_needed(date(2024, 11, 20), date(2024, 10, 1), RECEIVED)
    holdings = tuple(
        Holding(
            h.system_key,
            h.record_count,
            retention_duty=h.retention_duty,
            advertising=h.advertising,
            still_needed=not gone,
            actions=BILLING_ACTIONS if h.system_key == "billing" else ALL,
        )
        for h in demo_holdings()
    )
    proposal = prescreen(facts(T.ERASURE, holdings=holdings, ground_codes=frozenset({G.NO_LONGER_NEEDED})))
    items = by_key(proposal)
    assert (items["billing"].action, items["billing"].system_action, items["billing"].reasons) == (
        A.ALTERNATIVE,
        S.RESTRICT,
        (R.LEGAL_RETENTION_DUTY,),
    )
    assert all((i.action, i.system_action) == (A.GRANT, S.ERASE) for k, i in items.items() if k != "billing")
    assert (proposal.outcome, proposal.reasons) == (Outcome.PARTIALLY_GRANTED, (R.LEGAL_RETENTION_DUTY,))


def test_art35_5_marketing_after_opt_out_grounds_suspension_of_the_marketing_data():
    recorded = RecordedFacts(marketing_after_opt_out=True)
    proposal = prescreen(facts(T.SUSPENSION, recorded=recorded, ground_codes=frozenset({G.RIGHTS_HARMED})))
    items = by_key(proposal)
    assert (items["marketing"].action, items["marketing"].system_action) == (A.GRANT, S.RESTRICT)
    assert items["orders"].action is A.REFUSE  # only to the extent needed
    assert proposal.outcome is Outcome.PARTIALLY_GRANTED


def test_art35_1_marketing_after_opt_out_is_also_unlawful_use():
    recorded = RecordedFacts(marketing_after_opt_out=True)
    holding = Holding("marketing", 1, advertising=True)
    assert ground_supported(G.UNLAWFUL_USE, holding, recorded)
    assert not ground_supported(G.UNLAWFUL_USE, Holding("orders", 1), recorded)


def test_art35_5_weak_security_is_a_risk_of_harm_for_that_system():
    recorded = RecordedFacts(weak_security_systems=frozenset({"support"}))
    items = by_key(prescreen(facts(T.ERASURE, recorded=recorded, ground_codes=frozenset({G.RIGHTS_HARMED}))))
    assert items["support"].system_action is S.ERASE
    assert items["customers"].action is A.REFUSE


def test_art35_5_former_contact_still_listed_is_a_risk_of_harm():
    recorded = RecordedFacts(former_contact=True)
    proposal = prescreen(facts(T.ERASURE, recorded=recorded, ground_codes=frozenset({G.RIGHTS_HARMED})))
    assert by_key(proposal)["customers"].system_action is S.ERASE


def test_art35_5_reportable_leak_grounds_erasure_of_the_leaked_data():
    recorded = RecordedFacts(leaked_systems=frozenset({"customers", "billing"}))
    proposal = prescreen(facts(T.ERASURE, recorded=recorded, ground_codes=frozenset({G.LEAK_OCCURRED})))
    items = by_key(proposal)
    assert items["customers"].system_action is S.ERASE
    assert items["orders"].action is A.REFUSE


def test_art35_2_erasure_of_billing_with_retention_duty_becomes_restriction():
    recorded = RecordedFacts(leaked_systems=frozenset({"billing"}))
    proposal = prescreen(facts(T.ERASURE, recorded=recorded, ground_codes=frozenset({G.LEAK_OCCURRED})))
    billing = by_key(proposal)["billing"]
    assert (billing.action, billing.system_action, billing.reasons) == (
        A.ALTERNATIVE,
        S.RESTRICT,
        (R.LEGAL_RETENTION_DUTY,),
    )
    assert R.LEGAL_RETENTION_DUTY in proposal.reasons


def test_art35_2_suspension_of_billing_is_a_restriction_retention_does_not_prevent_it():
    recorded = RecordedFacts(leaked_systems=frozenset({"billing"}))
    billing = by_key(
        prescreen(facts(T.SUSPENSION, recorded=recorded, ground_codes=frozenset({G.LEAK_OCCURRED})))
    )["billing"]
    assert (billing.action, billing.system_action) == (A.GRANT, S.RESTRICT)


def test_art35_1_unlawful_use_and_improper_acquisition_need_a_finding_on_record():
    recorded = RecordedFacts(
        unlawful_use_systems=frozenset({"analytics"}), improper_acquisition_systems=frozenset({"orders"})
    )
    holdings = (Holding("analytics", 5), Holding("orders", 3), Holding("customers", 1))
    proposal = prescreen(
        facts(
            T.SUSPENSION,
            holdings=holdings,
            recorded=recorded,
            ground_codes=frozenset({G.UNLAWFUL_USE, G.IMPROPER_ACQUISITION}),
        )
    )
    assert [i.action for i in proposal.items] == [A.GRANT, A.GRANT, A.REFUSE]


def test_art35_provision_without_consent_is_not_a_ground_for_erasure():
    recorded = RecordedFacts(provision_bases=((None, False),))
    proposal = prescreen(
        facts(T.ERASURE, recorded=recorded, ground_codes=frozenset({G.PROVISION_WITHOUT_CONSENT}))
    )
    assert proposal.outcome is Outcome.REFUSED


# --- stop of third-party provision (Art. 35(3), (5)) -------------------------------------------


def test_art35_3_provision_without_consent_on_record_grounds_a_stop():
    recorded = RecordedFacts(provision_bases=(("consent", False), ("protect_our_rights", False)))
    proposal = prescreen(
        facts(
            T.STOP_THIRD_PARTY_PROVISION,
            recorded=recorded,
            ground_codes=frozenset({G.PROVISION_WITHOUT_CONSENT}),
        )
    )
    assert {(i.action, i.system_action) for i in proposal.items} == {(A.GRANT, S.STOP_PROVISION)}
    assert proposal.outcome is Outcome.GRANTED


def test_art35_3_consented_or_statutory_provisions_give_no_ground():
    recorded = RecordedFacts(provision_bases=(("consent", False), ("warrant", False)))
    proposal = prescreen(
        facts(
            T.STOP_THIRD_PARTY_PROVISION,
            recorded=recorded,
            ground_codes=frozenset({G.PROVISION_WITHOUT_CONSENT}),
        )
    )
    assert proposal.outcome is Outcome.REFUSED
    assert proposal.reasons == (R.NO_STATUTORY_GROUND,)


def test_art35_5_2022_grounds_also_ground_a_stop_of_provision():
    recorded = RecordedFacts(leaked_systems=frozenset({"customers"}))
    items = by_key(
        prescreen(
            facts(T.STOP_THIRD_PARTY_PROVISION, recorded=recorded, ground_codes=frozenset({G.LEAK_OCCURRED}))
        )
    )
    assert items["customers"].system_action is S.STOP_PROVISION
    assert items["orders"].action is A.REFUSE


def test_art35_3_unlawful_use_is_not_a_stop_of_provision_ground():
    recorded = RecordedFacts(unlawful_use_systems=frozenset({"customers"}))
    proposal = prescreen(
        facts(T.STOP_THIRD_PARTY_PROVISION, recorded=recorded, ground_codes=frozenset({G.UNLAWFUL_USE}))
    )
    assert proposal.outcome is Outcome.REFUSED


@pytest.mark.parametrize("request_type", list(T))
def test_every_request_type_proposes_one_item_per_system_or_field(request_type):
    proposal = prescreen(facts(request_type, corrections=(Correction("phone", None, "03-9999-0000"),)))
    keys = [i.key for i in proposal.items]
    assert len(keys) == len(set(keys)) and keys


# --- what each system can do (registry SystemInfo.actions) -----------------------------------

ALL = frozenset(S)
NO_STOP = ALL - {S.STOP_PROVISION}
BILLING_ACTIONS = frozenset({S.EXPORT, S.RECTIFY, S.RESTRICT})


def test_art35_3_stop_of_provision_only_asks_systems_that_provide_data():
    recorded = RecordedFacts(leaked_systems=frozenset({"customers", "orders"}))
    holdings = (Holding("customers", 1, actions=ALL), Holding("orders", 3, actions=NO_STOP))
    proposal = prescreen(
        facts(
            T.STOP_THIRD_PARTY_PROVISION,
            holdings=holdings,
            recorded=recorded,
            ground_codes=frozenset({G.LEAK_OCCURRED}),
        )
    )
    items = by_key(proposal)
    assert (items["customers"].action, items["customers"].system_action) == (A.GRANT, S.STOP_PROVISION)
    # nothing goes to third parties from orders: granted, nothing to do
    assert (items["orders"].action, items["orders"].system_action, items["orders"].reasons) == (
        A.GRANT,
        None,
        (),
    )
    assert proposal.outcome is Outcome.GRANTED


def test_art35_3_stop_of_provision_without_ground_is_still_refused_where_nothing_is_provided():
    holdings = (Holding("orders", 3, actions=NO_STOP),)
    proposal = prescreen(
        facts(T.STOP_THIRD_PARTY_PROVISION, holdings=holdings, ground_codes=frozenset({G.LEAK_OCCURRED}))
    )
    assert proposal.items[0].reasons == (R.NO_STATUTORY_GROUND,)


def test_art35_2_erasure_on_a_system_without_erase_proposes_restriction_as_alternative():
    recorded = RecordedFacts(leaked_systems=frozenset({"billing"}))
    holdings = (Holding("billing", 2, actions=BILLING_ACTIONS),)
    proposal = prescreen(
        facts(T.ERASURE, holdings=holdings, recorded=recorded, ground_codes=frozenset({G.LEAK_OCCURRED}))
    )
    item = proposal.items[0]
    assert (item.action, item.system_action, item.reasons) == (
        A.ALTERNATIVE,
        S.RESTRICT,
        (R.ALTERNATIVE_MEASURE,),
    )
    assert proposal.reasons == (R.ALTERNATIVE_MEASURE,)


def test_art35_2_retention_duty_path_wins_over_missing_erase():
    recorded = RecordedFacts(leaked_systems=frozenset({"billing"}))
    holdings = (Holding("billing", 2, retention_duty=True, actions=BILLING_ACTIONS),)
    item = prescreen(
        facts(T.ERASURE, holdings=holdings, recorded=recorded, ground_codes=frozenset({G.LEAK_OCCURRED}))
    ).items[0]
    assert (item.action, item.system_action, item.reasons) == (
        A.ALTERNATIVE,
        S.RESTRICT,
        (R.LEGAL_RETENTION_DUTY,),
    )


@pytest.mark.parametrize("request_type", [T.ERASURE, T.SUSPENSION, T.STOP_THIRD_PARTY_PROVISION])
@pytest.mark.parametrize("actions", [ALL, NO_STOP, BILLING_ACTIONS, frozenset({S.EXPORT}), frozenset()])
def test_art35_never_proposes_an_action_the_system_cannot_take(request_type, actions):
    recorded = RecordedFacts(leaked_systems=frozenset({"x"}))
    for duty in (False, True):
        holdings = (Holding("x", 2, retention_duty=duty, actions=actions),)
        item = prescreen(
            facts(
                request_type, holdings=holdings, recorded=recorded, ground_codes=frozenset({G.LEAK_OCCURRED})
            )
        ).items[0]
        assert item.system_action is None or item.system_action in actions
        assert item.action is not A.REFUSE
        assert not decision_problems(request_type, item.action, item.reasons)


def test_art33_5_outsourcing_abroad_is_a_disclosable_record():
    recorded = RecordedFacts(provision_bases=(("outsourcing", True),))
    items = by_key(prescreen(facts(T.DISCLOSURE, include_third_party_records=True, recorded=recorded)))
    assert items["third_party_records"].action is A.GRANT


def test_art33_5_an_exception_abroad_is_still_not_disclosable():
    recorded = RecordedFacts(provision_bases=(("warrant", True),))
    items = by_key(prescreen(facts(T.DISCLOSURE, include_third_party_records=True, recorded=recorded)))
    assert items["third_party_records"].action is A.NOT_HELD
