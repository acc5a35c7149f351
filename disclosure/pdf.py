"""The package as PDF, for requesters who want a printable document.

Japanese text uses reportlab's built-in CID font, so no font file ships with the project
and nothing is embedded: PDF readers supply the glyphs (Adobe-Japan1). The document's
metadata carries the reference only.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from disclosure.build import Contents, analysis_note, display_fields, texts

FONT = "HeiseiKakuGo-W5"
_WIDTH = A4[0] - 40 * mm


def _styles() -> dict[str, ParagraphStyle]:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=14, wordWrap="CJK")
    return {
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=11),
        "h1": ParagraphStyle("h1", parent=base, fontSize=17, leading=24, spaceAfter=8),
        "h2": ParagraphStyle("h2", parent=base, fontSize=13, leading=18, spaceBefore=10, spaceAfter=4),
        "h3": ParagraphStyle("h3", parent=base, fontSize=10.5, leading=15, spaceBefore=6),
    }


def _table(rows: list[list[str]], widths: list[float], cell: ParagraphStyle) -> Table:
    table = Table([[Paragraph(escape(v), cell) for v in row] for row in rows], colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def render_pdf(contents: Contents) -> bytes:
    t, st = texts(contents.language), _styles()
    title = t[f"title_{contents.request_type.value}"]

    def p(text: str, style: str = "body") -> Paragraph:
        return Paragraph(escape(text), st[style])

    story = [
        p(t["company"]),
        p(title, "h1"),
        p(f"{t['reference']}: {contents.reference}"),
        p(f"{t['date']}: {contents.generated_at:%Y-%m-%d}"),
        Spacer(1, 4 * mm),
        p(t[f"intro_{contents.request_type.value}"]),
    ]
    if contents.is_purpose_notification:
        story.append(p(analysis_note(contents.language)))
    if not contents.systems:
        story.append(p(t["no_systems"]))
    for s in contents.systems:
        story.append(p(f"{t['system']}: {s.name}", "h2"))
        names = dict(s.categories)
        if names:
            story.append(p(f"{t['categories']}: {t['separator'].join(names.values())}"))
        if contents.is_purpose_notification:
            story.append(p(t["purposes"], "h3"))
            story.extend(p(f"{code}) {text}") for code, text in s.purposes)
        elif not s.records:
            story.append(p(t["nothing_held"]))
        for number, record in enumerate(s.records, start=1):
            category = names.get(record.get("_category", ""), "")
            story.append(p(f"{t['record']} {number}" + (f" — {category}" if category else ""), "h3"))
            rows = [[t["field"], t["value"]], *map(list, display_fields(record, contents.language))]
            story.append(_table(rows, [_WIDTH * 0.3, _WIDTH * 0.7], st["cell"]))
    if contents.provisions is not None:
        story += [p(t["third_party_title"], "h2"), p(t["third_party_intro"])]
        if not contents.provisions:
            story.append(p(t["third_party_none"]))
        else:
            rows = [[t["consent"], t["recipient"], t["principal"], t["data_items"]]]
            rows += [
                [
                    t["consent_yes"] if e.consent else t["consent_no"],
                    e.recipient,
                    e.principal,
                    t["separator"].join(t["items"].get(i, i) for i in e.data_items),
                ]
                for e in contents.provisions
            ]
            story.append(_table(rows, [_WIDTH * 0.2, _WIDTH * 0.3, _WIDTH * 0.2, _WIDTH * 0.3], st["cell"]))
    story += [
        Spacer(1, 6 * mm),
        p(t["footer"]),
        p(f"{t['policy_link'].format(contents.policy_version)}: {contents.policy_url}"),
    ]

    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{title} {contents.reference}",
        author=t["company"],
        subject=contents.reference,
        creator="madoguchi",
    ).build(story)
    return buffer.getvalue()


def render_items_pdf(title: str, lead: list[str], items: list[tuple[str, str]], *, subject: str) -> bytes:
    """A form-like document (a leak report's draft): a title, lead lines and an item table, in
    the package's Japanese font; ``subject`` (a reference) is the only metadata."""
    st = _styles()
    story = [
        Paragraph(escape(title), st["h1"]),
        *(Paragraph(escape(line), st["body"]) for line in lead),
        Spacer(1, 4 * mm),
        _table([["項目", "内容"], *map(list, items)], [_WIDTH * 0.35, _WIDTH * 0.65], st["cell"]),
    ]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=title,
        subject=subject,
        creator="madoguchi",
    ).build(story)
    return buffer.getvalue()
