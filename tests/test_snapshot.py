"""The snapshot's JSON form and its history row."""

from __future__ import annotations

import json
import math

from conftest import make_sim

from leg_sim.history import COLUMNS, History


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
