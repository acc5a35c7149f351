"""Policy revisions (docs/rules.md §9): the purposes of use found by structure, compared item
by item, and what a revision needs (notice, consent, lead time), case by case."""

import re
from datetime import date

import pytest

from models.policy import shipped
from models.rules.policy import (
    BODY,
    NOTICE_LEAD_DAYS,
    PolicyTextInvalid,
    PurposeChange,
    compare,
    earliest_in_force,
    purposes,
    version_in_force,
)

V1 = shipped()[0].text
BILLING = "b)本サービスご利用代金のご請求のため。"


def revised(old: str, new: str, text: str = V1) -> str:
    assert old in text
    return text.replace(old, new)


def test_the_seed_policy_has_purposes_a_to_g_and_its_lead_paragraph():
    found = purposes(V1)
    assert list(found) == [BODY, "a", "b", "c", "d", "e", "f", "g"]
    assert found["b"] == "本サービスご利用代金のご請求のため。"
    assert "購買データ" in found[BODY]  # the analysis the purposes rest on (profiling)
    assert "業務委託先" not in "".join(found.values())  # section 3 is not part of it


def test_the_same_text_needs_nothing():
    revision = compare(V1, V1)
    assert (revision.findings, revision.needs_notice, revision.consent_needed) == ((), False, False)


def test_layout_and_width_are_not_changes():
    text = revised(BILLING, "b)  本サービスご利用代金の\n        ご請求のため。")
    text = revised("リコール(自主回収)", "リコール（自主回収）", text)
    assert compare(V1, text).findings == ()


def test_a_change_outside_the_purposes_needs_no_notice():
    text = revised("CSOがその任にあたり", "CPOがその任にあたり")
    assert compare(V1, text).needs_notice is False


def test_a_new_purpose_needs_notice_and_consent():
    text = revised(BILLING, BILLING + "\n\n      h)与信審査および債権管理のため。")
    [finding] = compare(V1, text).findings
    assert (finding.change, finding.old_label, finding.new_label) == (PurposeChange.ADDED, None, "h")
    assert finding.new_text == "与信審査および債権管理のため。"
    assert compare(V1, text).needs_notice and compare(V1, text).consent_needed


def test_a_reworded_purpose_needs_notice_but_not_consent():
    text = revised(BILLING, "b)本サービスご利用代金のご請求および与信管理のため。")
    revision = compare(V1, text)
    [finding] = revision.findings
    assert (finding.change, finding.old_label, finding.new_label) == (PurposeChange.CHANGED, "b", "b")
    assert (revision.needs_notice, revision.consent_needed) == (True, False)


def test_a_removed_purpose_needs_notice():
    text = revised("      e)本サービスの画面や", "      本サービスの画面や")  # e) merged into d)
    findings = {f.change: f for f in compare(V1, text).findings}
    assert set(findings) == {PurposeChange.CHANGED, PurposeChange.REMOVED}
    assert findings[PurposeChange.REMOVED].old_label == "e"
    assert compare(V1, text).consent_needed is False


def test_purposes_moved_to_other_letters_with_the_same_words_are_unchanged():
    a = purposes(V1)
    text = revised(f"a){a['a']}", f"a){a['b']}")
    text = revised(BILLING, f"b){a['a']}", text)
    assert compare(V1, text).findings == ()


def test_a_change_in_the_lead_paragraph_is_a_changed_purpose():
    text = revised("広告の閲覧履歴等の分析", "広告の閲覧履歴、位置情報等の分析")
    [finding] = compare(V1, text).findings
    assert (finding.change, finding.old_label) == (PurposeChange.CHANGED, BODY)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no numbered sections"),
        ("ポリシー\n  1. 定義\n    本文\n  2. 安全管理\n", "no section on the purposes of use"),
        ("  1. 利用目的\n    当社は適切に利用します。\n  2. 安全管理\n", "lists no purposes"),
        ("  1. 利用目的\n    a)請求のため。\n    a)配送のため。\n", "item a) twice"),
    ],
)
def test_a_text_without_purposes_is_refused_with_what_is_missing(text, problem):
    with pytest.raises(PolicyTextInvalid, match=re.escape(problem)):
        purposes(text)


def test_the_purposes_section_is_found_by_its_heading_not_by_a_mention():
    text = "  1. 定義\n    「3.利用目的」を参照。\n    a)定義のため。\n  2. 個人情報の利用目的\n    a)請求のため。\n  3. その他\n"
    assert purposes(text) == {BODY: "", "a": "請求のため。"}


def test_a_changed_purpose_is_in_force_only_after_the_notice_lead_time():
    approved = date(2026, 12, 1)
    changed = compare(V1, revised(BILLING, "b)ご請求と与信のため。"))
    assert earliest_in_force(changed, approved) == date(2026, 12, 1 + NOTICE_LEAD_DAYS)
    assert earliest_in_force(compare(V1, V1), approved) == date(2026, 12, 2)


def test_the_version_in_force_is_the_newest_whose_day_has_come():
    published = [(1, date(2023, 9, 11)), (2, date(2027, 1, 1))]
    assert version_in_force(published, date(2026, 12, 31)) == 1
    assert version_in_force(published, date(2027, 1, 1)) == 2
    assert version_in_force(published, date(2020, 1, 1)) is None
