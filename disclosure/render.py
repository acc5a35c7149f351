"""The package's files: HTML and PDF for people, JSON and CSV for programs, zipped.

HTML and PDF name each field in the requester's language (``fields.toml``); JSON and CSV
keep the names the systems export, so that a program can match them.

CSV is one file in long form (``system, system_name, category, category_name, record,
field, value``: one row per field of each record) rather than one file per system: the
systems' columns differ, and one file with a system column opens and filters the same in a
spreadsheet as in a script. A purpose notification's CSV lists ``system, system_name,
purpose, purpose_text``; third-party provision records, when asked for, get a CSV of their
own. CSV files carry a UTF-8 byte-order mark so spreadsheet software reads Japanese text.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from disclosure.build import Contents, analysis_note, display_fields, texts, visible_fields
from disclosure.pdf import render_pdf

_env = Environment(
    loader=PackageLoader("disclosure", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def render_html(contents: Contents) -> str:
    return _env.get_template("package.html.j2").render(
        c=contents,
        t=texts(contents.language),
        fields=lambda record: display_fields(record, contents.language),
        note=analysis_note(contents.language) if contents.is_purpose_notification else None,
    )


def render_json(contents: Contents) -> bytes:
    """Records exactly as each system exported them, so a program can re-import them."""
    systems = []
    for s in contents.systems:
        entry: dict[str, Any] = {
            "key": s.key,
            "name": s.name,
            "categories": [{"key": k, "name": n} for k, n in s.categories],
        }
        if contents.is_purpose_notification:
            entry["purposes"] = [{"code": code, "text": text} for code, text in s.purposes]
        else:
            entry["records"] = list(s.records)
        systems.append(entry)
    doc: dict[str, Any] = {
        "reference": contents.reference,
        "request_type": contents.request_type.value,
        "language": contents.language,
        "generated_at": contents.generated_at.isoformat(),
        "privacy_policy": {"version": contents.policy_version, "url": contents.policy_url},
        "systems": systems,
    }
    if contents.is_purpose_notification:
        doc["analysis_note"] = analysis_note(contents.language)
    if contents.provisions is not None:
        doc["third_party_provision_records"] = [
            {
                "consent": p.consent,
                "recipient": p.recipient,
                "principal": p.principal,
                "data_items": list(p.data_items),
            }
            for p in contents.provisions
        ]
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


def _csv(header: list[str], rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def render_csv(contents: Contents) -> bytes:
    if contents.is_purpose_notification:
        return _csv(
            ["system", "system_name", "purpose", "purpose_text"],
            ([s.key, s.name, code, text] for s in contents.systems for code, text in s.purposes),
        )

    def rows():
        for s in contents.systems:
            names = dict(s.categories)
            for number, record in enumerate(s.records, start=1):
                category = record.get("_category", "")
                for field, value in visible_fields(record):
                    yield [s.key, s.name, category, names.get(category, ""), number, field, value]

    return _csv(["system", "system_name", "category", "category_name", "record", "field", "value"], rows())


def render_provisions_csv(contents: Contents) -> bytes:
    return _csv(
        ["consent", "recipient", "principal", "data_items"],
        (
            [str(p.consent).lower(), p.recipient, p.principal, ";".join(p.data_items)]
            for p in contents.provisions or ()
        ),
    )


def package_files(contents: Contents) -> dict[str, bytes]:
    """File name in the zip → content. Names carry the reference, never personal data."""
    stem = f"{contents.reference}-{contents.request_type.value}"
    out = {
        f"{stem}.html": render_html(contents).encode("utf-8"),
        f"{stem}.pdf": render_pdf(contents),
        f"{stem}.json": render_json(contents),
        f"{stem}.csv": render_csv(contents),
    }
    if contents.provisions is not None:
        out[f"{contents.reference}-third-party-provision-records.csv"] = render_provisions_csv(contents)
    return out


def zip_package(contents: Contents) -> bytes:
    buffer = io.BytesIO()
    stamp = contents.generated_at.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in package_files(contents).items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()
