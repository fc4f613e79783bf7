"""The fan-out's pacing, driven by hand: loop times and decided counts are passed in, no clock."""

from __future__ import annotations

from pytest import approx

from bidserver.ws.pacing import Pacing

INTERVAL = 0.05


def test_a_quiet_room_flushes_at_once_even_right_after_a_flush():
    pacing = Pacing(INTERVAL, busy_rate=200)
    assert pacing.due(10.0, decided=1, urgent=False) == 10.0
    pacing.flushed(10.0)
    # 20 bids a second: the next one 5 ms later does not wait for a 50 ms slot.
    assert pacing.due(10.005, decided=2, urgent=False) == 10.005
    pacing.flushed(10.005)
    assert pacing.due(10.055, decided=3, urgent=False) == 10.055


def test_a_burst_is_conflated_to_one_update_per_interval():
    pacing = Pacing(INTERVAL, busy_rate=200)  # a burst: more than 10 commands in 50 ms
    assert pacing.due(10.0, decided=1, urgent=False) == 10.0
    pacing.flushed(10.0)
    assert pacing.due(10.01, decided=5, urgent=False) == 10.01  # not yet a burst
    pacing.flushed(10.01)
    assert pacing.due(10.02, decided=12, urgent=False) == approx(10.06)  # 11 in 20 ms: the slot
    assert pacing.due(10.07, decided=30, urgent=False) == approx(10.06)  # still on: past due, at once
    pacing.flushed(10.07)
    assert pacing.due(10.08, decided=35, urgent=False) == approx(10.12)  # the last window was one


def test_a_burst_ends_when_a_window_is_quiet_again():
    pacing = Pacing(INTERVAL, busy_rate=200)
    pacing.due(10.0, decided=0, urgent=False)
    pacing.flushed(10.0)
    assert pacing.due(10.06, decided=100, urgent=False) <= 10.06  # a burst, but its slot is due
    pacing.flushed(10.06)
    assert pacing.due(10.07, decided=101, urgent=False) == approx(10.11)  # it was: conflated
    assert pacing.due(10.5, decided=102, urgent=False) == 10.5  # 2 in 440 ms: quiet again


def test_urgent_events_never_wait():
    pacing = Pacing(INTERVAL, busy_rate=200)
    pacing.due(10.0, decided=0, urgent=False)
    pacing.flushed(10.0)
    pacing.rest_until = 11.0
    assert pacing.due(10.01, decided=1_000, urgent=True) == 10.01


def test_a_long_delivery_during_a_burst_is_followed_by_a_rest_and_only_then():
    pacing = Pacing(INTERVAL, busy_rate=200, share=0.5)
    pacing.delivered(started=10.0, now=10.2, decided_during=10)  # 50 a second: no burst
    assert pacing.rest_until == float("-inf")
    assert pacing.due(10.2, decided=10, urgent=False) == 10.2
    pacing.delivered(started=10.2, now=10.4, decided_during=100)  # 500 a second
    assert pacing.rest_until == approx(10.6)  # as long as the delivery took
    assert pacing.due(10.41, decided=110, urgent=False) == approx(10.6)
