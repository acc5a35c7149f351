"""A notice as a letter (mail/letter.py): an A4 PDF whose text is the email's own template, with
the company's address block and the recipient's, in Japanese (English for an English request).

Checked by text (pypdf extracts the Japanese and the address block) and as an image: the
machine has no PDF rasteriser, and the letter's CID font is one a PDF reader supplies, so the
page's extracted lines are drawn with Pillow in the font a reader here substitutes for it
(Noto Sans CJK JP, fontconfig's choice for HeiseiKakuGo), and every character must be ink, not
the missing-glyph box. The drawn page is kept as test-artifacts/letters/decision-ja.png."""

import io
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4

from disclosure.pdf import FONT
from mail.letter import letter_pdf
from mail.render import render_letter
from tests.mail.conftest import CONTEXTS

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "letters"
NOTO_CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"  # fonts-noto-cjk (.ci/run)
MISSING = "\U0010ffff"  # no font has it: what the font draws for a missing glyph
ADDRESSED = {
    "dated": date(2026, 12, 8),
    "name": "山田 太郎",
    "postal_address": "〒150-0001 東京都渋谷区神宮前1-2-3",
    "base_url": "https://madoguchi.example.jp",
}


def _pdf(kind: str, language: str, **context) -> tuple[bytes, str]:
    pdf = letter_pdf(kind, language, {**CONTEXTS[kind], **ADDRESSED, **context}, reference="R-261208-ABCDEF")
    return pdf, "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _flat(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("kind", ["decision", "fee_request", "clarification_request", "acknowledgement"])
def test_a_notice_as_a_letter_is_a4_with_the_address_blocks_and_the_emails_text(kind):
    pdf, text = _pdf(kind, "ja")
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == tuple(map(round, A4))
    letter = render_letter(kind, "ja", {**CONTEXTS[kind], **ADDRESSED})
    for block in (letter.recipient, letter.sender, letter.subject, letter.body):
        for line in block.splitlines():
            assert _flat(line) in _flat(text), line
    for expected in (
        "株式会社ビズらく",
        "〒100-0005",
        "東京都千代田区丸の内9-9-9",
        "山田 太郎 様",
        "2026年12月8日",
    ):
        assert _flat(expected) in _flat(text)
    fonts = {str(f["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}
    assert any(FONT in name for name in fonts), fonts  # a Japanese CID font a reader supplies


def test_an_english_request_gets_its_letter_in_english():
    _, text = _pdf("fee_request", "en", fee_yen=1000, postage_yen=490, amount_yen=1490)
    assert "Bizraku Co., Ltd." in text and "9-9-9 Marunouchi" in text
    assert _flat("registered postage for the paper copy ¥490") in _flat(text)
    assert not any("\u3040" <= ch <= "\u30ff" for ch in text)  # no kana: nothing left in Japanese


def test_the_fee_letter_shows_the_postage_apart():
    _, text = _pdf("fee_request", "ja", fee_yen=1000, postage_yen=490, amount_yen=1490)
    assert _flat("手数料: 1,490円") in _flat(text)
    assert _flat("（内訳: 手数料 1,000円、書面の郵送料（簡易書留） 490円）") in _flat(text)


def test_the_decision_letter_says_the_printed_data_is_enclosed():
    _, text = _pdf("decision", "ja", package_posted=True)
    assert "開示するデータは、印刷してこの書面に同封しました。" in text
    assert "ダウンロード" not in text


def _ink(font: ImageFont.FreeTypeFont, ch: str) -> bytes:
    mask = font.getmask(ch)
    return bytes(mask) + bytes(str(mask.size), "ascii")


def test_the_letters_japanese_renders_as_glyphs_not_tofu():
    """The page drawn from the PDF's own text: ink on the page, and not one character drawn as
    the missing-glyph box (a font without Japanese would draw every kana and kanji as one)."""
    _, text = _pdf("decision", "ja")
    font = ImageFont.truetype(NOTO_CJK, 14, index=0)
    assert font.getname()[0] == "Noto Sans CJK JP"
    width, height = (round(x * 150 / 72) for x in A4)  # the A4 page at 150 dpi
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    for n, line in enumerate(text.splitlines()):
        draw.text((140, 120 + n * 24), line, font=font, fill=0)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.save(ARTIFACTS / "decision-ja.png")
    inked = sum(page.histogram()[:128])
    assert inked > 5_000, inked  # a page of text, not a blank one
    tofu = _ink(font, MISSING)
    japanese = {ch for ch in text if ord(ch) > 0x2FFF}
    assert {"決", "定", "お", "知", "ら", "せ", "株", "式", "会", "社"} <= japanese
    assert [ch for ch in sorted(japanese) if _ink(font, ch) == tofu] == []
    # and the check can fail: a font without Japanese draws them all as its box
    latin = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 14)
    assert all(_ink(latin, ch) == _ink(latin, MISSING) for ch in "決定株式")
