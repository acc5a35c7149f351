"""A notice as a printed letter (issue 15), for a requester answered on paper: A4, the
recipient's address and name where a window envelope shows them, the date and the company's
address block on the right, the subject and the notice's own text (mail/render.py:
render_letter). Japanese in reportlab's built-in CID font, as the disclosure package's PDF
(disclosure/pdf.py): nothing embedded, PDF readers supply the glyphs. The document's metadata
carries the reference only."""

import io
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from disclosure.pdf import FONT
from mail.render import render_letter


def _paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph("<br/>".join(escape(line) for line in text.splitlines()), style)


def letter_pdf(kind: str, language: str, context: dict, *, reference: str) -> bytes:
    """The letter of notice ``kind``; ``context`` is the notice's, with ``dated``, ``name``,
    ``postal_address``, ``base_url`` and perhaps ``status_token`` added."""
    text = render_letter(kind, language, context)
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    body = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=17, wordWrap="CJK", spaceAfter=2 * mm)
    right = ParagraphStyle("right", parent=body, fontSize=9.5, leading=14, alignment=TA_RIGHT)
    title = ParagraphStyle(
        "title", parent=body, fontSize=13, leading=20, spaceBefore=6 * mm, spaceAfter=4 * mm
    )
    story = [
        _paragraph(text.recipient, body),
        Spacer(1, 12 * mm),
        _paragraph(text.sender, right),
        _paragraph(text.subject, title),
    ]
    story += [_paragraph(part, body) for part in text.body.split("\n\n") if part.strip()]
    if text.token:
        story += [Spacer(1, 4 * mm), _paragraph(text.token, body)]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=reference,
        author="",
        subject="",
        creator="madoguchi",
    ).build(story)
    return out.getvalue()
