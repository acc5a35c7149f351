"""What the package says: per system, in the requester's language, in four formats."""

import csv
import io
import json

import pytest
from markupsafe import escape
from pypdf import PdfReader

from deployments.registry import build_registry
from disclosure.build import data_file, gather, purposes_for
from disclosure.render import package_files
from models.rules.vocabulary import RequestType
from tests.disclosure.conftest import ALL_SYSTEMS, EMAIL, HIDDEN_ADDRESS, NAME, NOW

DISCLOSED = tuple(k for k in ALL_SYSTEMS if k != "support")  # support: authority inquiry


def files_of(desk, reference, systems=ALL_SYSTEMS):
    files = package_files(gather(desk, reference, systems, registry=build_registry(desk), now=NOW))
    by_ext = {name.rsplit(".", 1)[1]: data for name, data in files.items() if "third-party" not in name}
    return files, by_ext


@pytest.mark.parametrize("language", ["ja", "en"])
def test_html_shows_every_system_its_names_and_its_data(desk, new_request, exported, registry, language):
    reference = new_request(language=language)
    _, f = files_of(desk, reference)
    html = f["html"].decode()
    assert reference in html and "2026-12-01" in html
    assert f'<html lang="{language}">' in html
    for key in DISCLOSED:
        info = registry.info(key)
        assert getattr(info, f"name_{language}") in html
        held = {r["_category"] for r in exported[key]}
        for category in info.categories:
            if category.key in held:
                assert getattr(category, f"name_{language}") in html
        for record in exported[key]:
            for field, value in record.items():
                if field not in ("_system", "_category", "origin") and value is not None:
                    assert escape(str(value)) in html
    assert ("開示" if language == "ja" else "Disclosure") in html


def test_html_is_autoescaped(desk, new_request, exported):
    html = files_of(desk, new_request())[1]["html"].decode()
    assert "<script" not in html and html.count("<table>") >= sum(len(exported[k]) for k in DISCLOSED)


def test_authority_inquiry_data_is_answered_as_not_held(desk, new_request, exported):
    _, f = files_of(desk, new_request())
    html, doc = f["html"].decode(), json.loads(f["json"])
    assert exported["support"]  # the system has it ...
    support = next(s for s in doc["systems"] if s["key"] == "support")
    assert support["records"] == [] and support["categories"] == []  # ... the package does not
    assert "このシステムには、お客様に関する保有個人データはありません。" in html
    for record in exported["support"]:
        assert record["ticket_id" if "ticket_id" in record else "recording_id"] not in html


def test_pdf_is_a_pdf_with_the_japanese_text(desk, new_request, registry):
    reference = new_request()
    pdf = files_of(desk, reference)[1]["pdf"]
    assert pdf.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert reference in text and "保有個人データの開示" in text
    assert registry.info("billing").name_ja in text and NAME in text
    assert NAME.encode() not in pdf  # text is CID-encoded; metadata holds no personal data


def test_english_pdf(desk, new_request):
    pdf = files_of(desk, new_request(language="en"))[1]["pdf"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Disclosure of your retained personal data" in text and "Billing" in text


def test_json_round_trips_the_exported_records(desk, new_request, exported):
    reference = new_request()
    doc = json.loads(files_of(desk, reference)[1]["json"])
    assert doc["reference"] == reference and doc["request_type"] == "disclosure"
    assert [s["key"] for s in doc["systems"]] == list(ALL_SYSTEMS)
    for system in doc["systems"]:
        if system["key"] != "support":
            assert system["records"] == exported[system["key"]]
    assert "third_party_provision_records" not in doc
    assert doc["privacy_policy"] == {"version": 1, "url": "http://localhost:8000/policy/1?lang=ja"}


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_package_links_to_the_policy_in_force(desk, new_request, language):
    html = files_of(desk, new_request(language=language))[1]["html"].decode()
    assert f'href="http://localhost:8000/policy/1?lang={language}"' in html
    assert ("第1版" if language == "ja" else "version 1") in html


def test_csv_is_long_form_with_a_header(desk, new_request, exported):
    data = files_of(desk, new_request())[1]["csv"]
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["system", "system_name", "category", "category_name", "record", "field", "value"]
    expected = sum(
        len([k for k in r if not k.startswith("_") and k != "origin"])
        for key in DISCLOSED
        for r in exported[key]
    )
    assert len(rows) - 1 == expected
    assert ["customers", "顧客マスタ", "customer_profile", "お客様情報", "1", "email", EMAIL] in rows


def test_third_party_records_only_when_asked_and_only_the_required_items(desk, new_request):
    files, f = files_of(desk, new_request(third_party=True))
    doc = json.loads(f["json"])
    records = doc["third_party_provision_records"]
    assert {r["recipient"] for r in records} == {"株式会社配送パートナー", "Overseas Data Pte. Ltd."}
    assert all(set(r) == {"consent", "recipient", "principal", "data_items"} for r in records)
    first = next(r for r in records if r["recipient"] == "株式会社配送パートナー")
    assert first == {
        "consent": True,
        "recipient": "株式会社配送パートナー",
        "principal": NAME,
        "data_items": ["name", "phone"],
    }
    html = f["html"].decode()
    assert "第三者提供記録" in html and "氏名、電話番号" in html
    for absent in ("警視庁", "株式会社国内委託", "他人向け株式会社", HIDDEN_ADDRESS, "consent-42"):
        assert all(absent.encode() not in data for data in files.values())
    provisions_csv = next(d for n, d in files.items() if "third-party" in n)
    assert provisions_csv.decode("utf-8-sig").splitlines()[0] == "consent,recipient,principal,data_items"

    plain_files, plain = files_of(desk, new_request(third_party=False))
    assert "第三者提供記録" not in plain["html"].decode()
    assert not any("third-party" in n for n in plain_files)
    assert "株式会社配送パートナー".encode() not in plain["json"]


def test_withheld_systems_are_left_out_entirely(desk, new_request, registry, exported):
    included = [k for k in ALL_SYSTEMS if k not in ("marketing", "analytics")]
    _, f = files_of(desk, new_request(), included)
    doc = json.loads(f["json"])
    assert [s["key"] for s in doc["systems"]] == included
    for key in ("marketing", "analytics"):
        for data in f.values():
            if key != "pdf":
                assert registry.info(key).name_ja.encode() not in data
        assert all(
            r.get("campaign_id", "¤") not in f["html"].decode() for r in exported[key] if "campaign_id" in r
        )
    assert "marketing" not in {row.split(",")[0] for row in f["csv"].decode("utf-8-sig").splitlines()}


def test_purpose_notification_lists_purposes_per_system_and_no_records(desk, new_request, registry):
    for language in ("ja", "en"):
        reference = new_request(RequestType.PURPOSE_NOTIFICATION, language=language)
        _, f = files_of(desk, reference)
        doc, html = json.loads(f["json"]), f["html"].decode()
        assert [s["key"] for s in doc["systems"]] == list(DISCLOSED)
        for system in doc["systems"]:
            assert "records" not in system
            expected = purposes_for(system["key"], language)
            assert [(p["code"], p["text"]) for p in system["purposes"]] == list(expected)
            for _, text in expected:
                assert escape(text) in html
        assert EMAIL not in html and EMAIL.encode() not in f["json"] + f["csv"]
        assert f["csv"].decode("utf-8-sig").splitlines()[0] == "system,system_name,purpose,purpose_text"
    assert "本サービスご利用代金のご請求のため。" in purposes_for("billing", "ja")[0][1]


def test_fields_are_named_for_people_in_html_and_kept_raw_for_programs(desk, new_request):
    ja = files_of(desk, new_request())[1]
    en = files_of(desk, new_request(language="en"))[1]
    assert "<td>担当者氏名</td>" in ja["html"].decode()
    assert "<td>Contact name</td>" in en["html"].decode()
    assert ",contact_name," in ja["csv"].decode("utf-8-sig")
    assert '"contact_name"' in ja["json"].decode()


def test_every_exported_field_has_a_name_in_both_languages(exported):
    fields = {k for records in exported.values() for r in records for k in r}
    fields -= {"_system", "_category", "origin"}
    for language in ("ja", "en"):
        assert fields <= set(data_file("fields.toml")[language])


def test_every_registered_system_has_purposes(settings):
    for key in build_registry(settings).keys():
        assert purposes_for(key, "ja") and purposes_for(key, "en")


def test_bad_input_is_refused_without_personal_data(desk, new_request):
    with pytest.raises(ValueError, match="unknown system"):
        gather(desk, new_request(), ["customers", "nowhere"], registry=build_registry(desk), now=NOW)
    with pytest.raises(ValueError) as refused:
        gather(desk, new_request(RequestType.ERASURE), ALL_SYSTEMS, registry=build_registry(desk), now=NOW)
    assert EMAIL not in str(refused.value) and NAME not in str(refused.value)
