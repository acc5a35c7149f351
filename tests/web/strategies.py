"""Hypothesis strategies shared by the intake's fuzz tests and the lifecycle's property test
(every body the API accepts reaches a final status)."""

from hypothesis import strategies as st

# Text that is valid in some fields and not in others: control characters (PostgreSQL refuses
# a NUL in text), full-width and non-Latin address look-alikes, huge values, near-miss enums.
SPECIAL = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "null",
    "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ",
    "山田@例え.jp",
    "a@b",
    "a" * 5000,
    "山" * 3000,
    "disclosure ",
    "DISCLOSURE",
    "appointed-agent",
    "postal",
    "<script>alert(1)</script>",
    "'; DROP TABLE request; --",
    "\u202e\u200b",
    "😀" * 300,
    "R-000000-AAAAAA",
]
ODD_TEXT = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(max_size=30),
    st.text(
        alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Lo", "So", "Zs"]),
        min_size=1,
        max_size=20,
    ),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=10).map(lambda s: s * 500),
)
