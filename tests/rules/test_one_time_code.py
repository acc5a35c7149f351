from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from models.rules.one_time_code import (
    MAX_ATTEMPTS,
    MAX_CODES,
    CodeState,
    CodeStatus,
    generate_code,
    hash_code,
    issue_code,
)
from models.rules.one_time_code import (
    Verdict as V,
)
from models.rules.one_time_code import (
    check_code as judge,
)

SECRET = b"test-secret"
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def issued(code="123456", state=CodeState(), now=T0):
    state, verdict = issue_code(state, code, now=now, secret=SECRET)
    assert verdict is V.ISSUED
    return state


def check_code(state: CodeState, submitted: str, *, now: datetime, secret: bytes):
    """One answer as services/identity.submit_code gives it: the database counts the attempt
    first, on a live code only, then the rule judges."""
    counted = (
        state.status is CodeStatus.PENDING
        and state.code_hash is not None
        and now < state.expires_at
        and state.attempts < MAX_ATTEMPTS
    )
    if counted:
        state = replace(state, attempts=state.attempts + 1)
    return judge(state, submitted, counted=counted, now=now, secret=secret)


def test_rules_4_codes_are_six_digits():
    codes = {generate_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150


def test_rules_4_only_a_keyed_hash_is_stored():
    state = issued("123456")
    assert "123456" not in repr(state)
    assert state.code_hash == hash_code("123456", SECRET) != hash_code("123456", b"other-secret")


def test_rules_4_right_code_within_ten_minutes_verifies():
    state, verdict = check_code(issued(), "123456", now=T0 + timedelta(minutes=9), secret=SECRET)
    assert verdict is V.VERIFIED and state.status is CodeStatus.VERIFIED and state.code_hash is None
    assert check_code(state, "123456", now=T0, secret=SECRET)[1] is V.ALREADY_VERIFIED


def test_rules_4_code_expires_after_ten_minutes():
    state, verdict = check_code(issued(), "123456", now=T0 + timedelta(minutes=10), secret=SECRET)
    assert verdict is V.EXPIRED and state.status is CodeStatus.PENDING


def test_rules_4_three_attempts_per_code():
    state = issued()
    state, v1 = check_code(state, "000000", now=T0, secret=SECRET)
    state, v2 = check_code(state, "111111", now=T0, secret=SECRET)
    state, v3 = check_code(state, "222222", now=T0, secret=SECRET)
    assert (v1, v2, v3) == (V.WRONG, V.WRONG, V.EXHAUSTED)
    # the right code no longer works on an exhausted code
    assert check_code(state, "123456", now=T0, secret=SECRET)[1] is V.EXHAUSTED
    state = issued("654321", state)
    assert state.attempts == 0 and state.codes_issued == 2
    assert check_code(state, "654321", now=T0, secret=SECRET)[1] is V.VERIFIED


def test_rules_4_at_most_three_codes_then_refusal():
    state = CodeState()
    for _ in range(MAX_CODES):
        state = issued(state=state)
    state, verdict = issue_code(state, "999999", now=T0, secret=SECRET)
    assert verdict is V.REFUSED and state.status is CodeStatus.FAILED
    assert check_code(state, "123456", now=T0, secret=SECRET)[1] is V.REFUSED


def test_rules_4_last_code_exhausted_is_a_refusal():
    state = CodeState()
    for _ in range(MAX_CODES):
        state = issued(state=state)
    for _ in range(2):
        state, verdict = check_code(state, "000000", now=T0, secret=SECRET)
        assert verdict is V.WRONG
    state, verdict = check_code(state, "000000", now=T0, secret=SECRET)
    assert verdict is V.REFUSED and state.status is CodeStatus.FAILED


def test_rules_4_last_code_expired_is_a_refusal():
    state = CodeState()
    for _ in range(MAX_CODES):
        state = issued(state=state)
    state, verdict = check_code(state, "123456", now=T0 + timedelta(minutes=11), secret=SECRET)
    assert verdict is V.REFUSED


def test_checking_before_any_code_was_issued():
    assert check_code(CodeState(), "123456", now=T0, secret=SECRET) == (CodeState(), V.NO_CODE)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.text("0123456789", min_size=6, max_size=6), st.integers(0, 15)),
        max_size=15,
    )
)
def test_property_never_more_than_three_codes_nor_three_attempts(events):
    state, now = CodeState(), T0
    for is_issue, code, minutes in events:
        now += timedelta(minutes=minutes)
        if is_issue:
            state, _ = issue_code(state, code, now=now, secret=SECRET)
        else:
            state, _verdict = check_code(state, code, now=now, secret=SECRET)
        assert state.codes_issued <= MAX_CODES
        assert state.attempts <= 3
    if state.status is CodeStatus.FAILED:
        assert issue_code(state, "123456", now=now, secret=SECRET)[1] is V.REFUSED


def test_rules_4_an_answer_that_found_no_attempt_left_is_not_compared():
    """Two answers took the last attempts: a third arriving with them is not judged, even
    when it is right; the one that took the last attempt of the last code decides."""
    state = replace(issued("123456"), attempts=MAX_ATTEMPTS)
    assert judge(state, "123456", counted=False, now=T0, secret=SECRET) == (state, V.EXHAUSTED)
    for _ in range(MAX_CODES - 1):
        state = issued(state=state)
    state = replace(state, attempts=MAX_ATTEMPTS)
    assert judge(state, "123456", counted=False, now=T0, secret=SECRET) == (state, V.REFUSED)
    assert judge(state, "000000", counted=True, now=T0, secret=SECRET)[0].status is CodeStatus.FAILED


def test_rules_4_full_width_digits_from_a_japanese_ime_match():
    state, verdict = check_code(issued("123456"), "１２３４５６", now=T0, secret=SECRET)
    assert verdict is V.VERIFIED and state.status is CodeStatus.VERIFIED


def test_rules_4_ideographic_space_around_the_code_is_ignored():
    _state, verdict = check_code(issued("123456"), "\u3000１２３４５６ ", now=T0, secret=SECRET)
    assert verdict is V.VERIFIED


def test_rules_4_full_width_wrong_code_is_still_wrong():
    assert check_code(issued("123456"), "１２３４５７", now=T0, secret=SECRET)[1] is V.WRONG
    assert hash_code("１２３４５６", SECRET) == hash_code("123456", SECRET)
