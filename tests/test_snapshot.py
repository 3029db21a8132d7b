"""The snapshot's JSON form and its history row."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from conftest import make_sim
from hypothesis import given
from hypothesis import strategies as st

from leg_sim.history import COLUMNS, History
from leg_sim.snapshot import from_wire


def test_json_bytes_are_the_document_and_built_once():
    snap = make_sim().step()
    assert json.loads(snap.to_json()) == json.loads(json.dumps(snap.to_dict()))
    assert snap.to_json() is snap.to_json()


def test_history_row_has_every_named_column():
    night = make_sim(clock={"start": "2026-06-21T01:00:00"}).step()
    row = night.history_row()
    assert tuple(row) == COLUMNS
    assert math.isnan(row["self_consumption"])  # undefined at night: NaN in the history, null in JSON
    h = History(3)
    h.append(row)
    assert h.columns()["total_consumption_w"][0] == night.total_consumption_w


def test_the_wire_form_carries_every_field_exactly():
    sim = make_sim(houses=12)
    for _ in range(3):
        snap = sim.step()
    back, extra = from_wire(snap.to_wire({"live": {"house_count": 12}}))
    assert extra == {"live": {"house_count": 12}}
    for f in dataclasses.fields(snap):
        a, b = getattr(snap, f.name), getattr(back, f.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True) and not b.flags.writeable, f.name
        else:
            assert a == b, f.name
    assert back.to_json() == snap.to_json()


@given(st.binary(max_size=200) | st.sampled_from([b'{"v": 1}', b'{"v": 1, "house_ids": ["a"]}', b"[]", b'{"v": 2}']))
def test_anything_else_on_the_wire_is_a_value_error(payload):
    with pytest.raises(ValueError):
        from_wire(payload)


def test_a_wire_array_of_the_wrong_length_or_type_is_refused():
    import json

    from conftest import make_sim

    doc = json.loads(make_sim(houses=3).step().to_wire())
    short = dict(doc, pv_power_w=dict(doc["pv_power_w"], b64="AAAAAAAAAAA="))  # one value for three houses
    with pytest.raises(ValueError, match="pv_power_w"):
        from_wire(json.dumps(short).encode())
    objects = dict(doc, pv_power_w=dict(doc["pv_power_w"], dtype="|O"))
    with pytest.raises(ValueError, match="dtype"):
        from_wire(json.dumps(objects).encode())
