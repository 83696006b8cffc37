"""Pure frame-time mapping: exact tables and properties (no VapourSynth, no torch)."""

from fractions import Fraction as Fr

from hypothesis import given
from hypothesis import strategies as st

from vsrife import timing
from vsrife.timing import DedupWindow, Step, dedup_step, plain_step


def table(n_src, ratio, count=None):
    n_out = timing.output_length(n_src, ratio)
    return [(s.a, s.b, s.t) for s in (plain_step(n, n_src, ratio) for n in range(count or n_out))]


def test_2x_table():
    assert timing.output_length(4, Fr(2)) == 8
    assert table(4, Fr(2)) == [(0, 0, 0), (0, 1, Fr(1, 2)), (1, 1, 0), (1, 2, Fr(1, 2)), (2, 2, 0),
                               (2, 3, Fr(1, 2)), (3, 3, 0), (3, 3, 0)]


def test_3x_table():
    assert table(3, Fr(3)) == [(0, 0, 0), (0, 1, Fr(1, 3)), (0, 1, Fr(2, 3)), (1, 1, 0), (1, 2, Fr(1, 3)),
                               (1, 2, Fr(2, 3)), (2, 2, 0), (2, 2, 0), (2, 2, 0)]


def test_5_2_table():
    assert timing.output_length(4, Fr(5, 2)) == 10
    assert table(4, Fr(5, 2)) == [(0, 0, 0), (0, 1, Fr(2, 5)), (0, 1, Fr(4, 5)), (1, 2, Fr(1, 5)),
                                  (1, 2, Fr(3, 5)), (2, 2, 0), (2, 3, Fr(2, 5)), (2, 3, Fr(4, 5)),
                                  (3, 3, 0), (3, 3, 0)]


def test_23976_to_5994_is_exact():
    ratio = Fr(60000, 1001) / Fr(24000, 1001)
    assert ratio == Fr(5, 2)
    assert timing.output_length(48, ratio) == 120
    # Every 5th output frame is a source frame, exactly, forever (no drift).
    for n in range(0, 100000, 5):
        s = plain_step(n, 10**6, ratio)
        assert s.is_copy and s.a == n * 2 // 5


def test_60_to_50_downrate_with_motion():
    ratio = Fr(50) / Fr(60000, 1001)
    assert ratio == Fr(1001, 1200)
    assert timing.output_length(1200, ratio) == 1001
    steps = [plain_step(n, 1200, ratio) for n in range(6)]
    assert [(s.a, s.t) for s in steps] == [(0, 0), (1, Fr(199, 1001)), (2, Fr(398, 1001)), (3, Fr(597, 1001)),
                                           (4, Fr(796, 1001)), (5, Fr(995, 1001))]


def test_dyadic():
    assert timing.ratio_is_dyadic(Fr(2)) and timing.ratio_is_dyadic(Fr(4)) and timing.ratio_is_dyadic(Fr(8, 3))
    assert not timing.ratio_is_dyadic(Fr(3)) and not timing.ratio_is_dyadic(Fr(5, 2))


@given(st.integers(1, 500), st.integers(1, 64), st.integers(1, 64), st.data())
def test_plain_properties(n_src, num, den, data):
    ratio = Fr(num, den)
    n_out = timing.output_length(n_src, ratio)
    assert n_out >= n_src * ratio and n_out - 1 < n_src * ratio  # ceil
    n = data.draw(st.integers(0, n_out - 1))
    s = plain_step(n, n_src, ratio)
    tau = Fr(n * den, num)
    assert 0 <= s.a <= s.b <= n_src - 1
    assert 0 <= s.t < 1
    if s.is_copy:
        assert s.a == s.b and (tau == s.a or s.a == n_src - 1)
    else:
        assert s.b == s.a + 1 and s.a + s.t == tau
    # Monotone in time.
    if n + 1 < n_out:
        s2 = plain_step(n + 1, n_src, ratio)
        assert s2.a + s2.t >= s.a + s.t


def window_from(n_src, dups, cuts=()):
    return DedupWindow(0, [i in dups for i in range(n_src)], [i in cuts for i in range(n_src)])


def test_dedup_on_twos_spreads_motion():
    # Drawings at 0, 2, 4, 6; frames 1, 3, 5, 7 repeat them.
    w = window_from(8, {1, 3, 5, 7})
    got = [dedup_step(n, 8, Fr(2), w, 4) for n in range(8)]
    assert got[0] == Step.copy(0)
    assert got[1] == Step(0, 2, Fr(1, 4))
    assert got[2] == Step(0, 2, Fr(1, 2))
    assert got[3] == Step(0, 2, Fr(3, 4))
    assert got[4] == Step.copy(2)
    assert got[5] == Step(2, 4, Fr(1, 4))


def test_dedup_mixed_cadence_and_long_hold():
    # 0 on ones, 1-3 on threes, 4-12 a long hold (9 frames), 13 next drawing.
    w = window_from(16, {2, 3, 5, 6, 7, 8, 9, 10, 11, 12})
    r = Fr(1)
    assert dedup_step(0, 16, Fr(2), w, 4) == Step.copy(0)
    assert dedup_step(1, 16, Fr(2), w, 4) == Step(0, 1, Fr(1, 2))
    assert dedup_step(3, 16, Fr(2), w, 4) == Step(1, 4, Fr(1, 6))    # tau 1.5 in the run 1..3 -> 4
    assert dedup_step(2 * 3, 16, Fr(2), w, 4) == Step(1, 4, Fr(2, 3))  # tau 3
    # The long hold copies, then motion resumes from its last frame (12).
    for n in range(8, 24):
        assert dedup_step(n, 16, Fr(2), w, 4).is_copy, n
    assert dedup_step(25, 16, Fr(2), w, 4) == Step(12, 13, Fr(1, 2))
    del r


def test_dedup_never_crosses_a_cut():
    w = window_from(8, {1, 3}, cuts={4})
    for n in range(16):
        s = dedup_step(n, 8, Fr(2), w, 4)
        assert not (s.a < 4 <= s.b), (n, s)


@given(st.lists(st.booleans(), min_size=2, max_size=40), st.integers(1, 6), st.integers(1, 5), st.data())
def test_dedup_properties(dup_flags, max_run, num, data):
    n_src = len(dup_flags)
    dup_flags[0] = False
    w = DedupWindow(0, dup_flags, [False] * n_src)
    ratio = Fr(num)
    n = data.draw(st.integers(0, timing.output_length(n_src, ratio) - 1))
    s = dedup_step(n, n_src, ratio, w, max_run)
    tau = timing.source_time(n, ratio)
    assert 0 <= s.a <= s.b < n_src and 0 <= s.t < 1
    if not s.is_copy:
        assert s.a <= tau < s.b and s.b - s.a <= max_run + 1
        assert not w.is_dup(s.b)  # the target is a new drawing
    lo, hi = timing.window_bounds(min(int(tau), n_src - 1), n_src, max_run)
    assert lo <= s.a and s.b <= hi
    if not any(dup_flags):
        assert s == plain_step(n, n_src, ratio)
