"""The bench client's loss count (``benchmarks/ws_client.ticks_missing``): a tick lost is one a
session lacks among those some session received, counted by the ticks' stamps."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from benchmarks.ws_client import ticks_missing

stamps = st.lists(st.integers(min_value=0, max_value=100).map(float), unique=True, min_size=1, max_size=40)


@given(stamps, st.integers(min_value=1, max_value=6))
def test_clients_that_saw_every_tick_lose_none(walls, clients):
    sent, missing, sessions = ticks_missing([set(walls) for _ in range(clients)], 0.0, 100.0)
    assert (sent, missing, sessions) == (len(walls), 0, 0)


@given(stamps, st.data())
def test_each_tick_a_client_lacks_is_counted_once_and_only_inside_the_window(walls, data):
    start, end = 25.0, 75.0
    inside = [w for w in walls if start <= w <= end]
    lost = set(data.draw(st.lists(st.sampled_from(walls), unique=True)))
    complete, partial = set(walls), set(walls) - lost
    sent, missing, sessions = ticks_missing([complete, partial, complete], start, end)
    lost_inside = sum(1 for w in lost if start <= w <= end)
    assert sent == len(inside)
    assert missing == lost_inside
    assert sessions == (1 if lost_inside else 0)
