"""A house as a smart meter: stable addresses and numbers, and the {MAC}/SENSOR message of the
LEG smart-meter simulator (SensorsIot/LEG-Software, leg-mqtt-simulator spec, section 9)."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leg_sim import meters

#: The example message of the specification (its fields and their types).
SPEC_EXAMPLE = {
    "SMid": "60222760", "Pi": 1.047, "Po": 0.000, "I1": 0.392, "I2": 0.054, "I3": 0.096, "Ei": 4619.712, "Eo": 14089.216,
    "Q5": 18.862, "Q6": 12.491, "Q7": 1932.711, "Q8": 3664.889, "ts": 12589,
}


def test_the_message_has_the_fields_and_types_of_the_specification():
    payload = meters.sensor_payload("12345678", -1047.0, 4619.712, 14089.216, 1_782_000_000.7)
    assert list(payload) == list(SPEC_EXAMPLE)
    assert {k: type(v) for k, v in payload.items()} == {k: type(v) for k, v in SPEC_EXAMPLE.items()}
    assert payload["Pi"] == 1.047 and payload["Po"] == 0.0 and payload["Ei"] == 4619.712 and payload["ts"] == 1_782_000_000
    # 1047 W over three phases at 230 V
    assert payload["I1"] == payload["I2"] == payload["I3"] == pytest.approx(1047 / 690, abs=1e-3)


def test_addresses_and_numbers_are_stable_distinct_and_well_formed():
    ids = [f"H{i:03d}" for i in range(1, 2001)]
    addresses = [meters.meter_address(42, h) for h in ids]
    assert addresses == [meters.meter_address(42, h) for h in ids]
    assert len(set(addresses)) == len(ids)
    assert all(re.fullmatch(r"02(-[0-9A-F]{2}){5}", a) for a in addresses)
    assert meters.meter_address(43, "H001") != meters.meter_address(42, "H001")
    numbers = [meters.meter_number(42, h) for h in ids]
    assert all(re.fullmatch(r"\d{8}", n) for n in numbers)
    assert meters.sensor_topic(addresses[0]) == f"{addresses[0]}/SENSOR"
    assert meters.sensor_topic(addresses[0], "leg/") == f"leg/{addresses[0]}/SENSOR"


@given(st.floats(-50_000, 50_000), st.floats(0, 1e6), st.floats(0, 1e6))
def test_a_message_gives_back_its_net_power(net_w, import_kwh, export_kwh):
    payload = meters.sensor_payload("00000001", net_w, import_kwh, export_kwh, 0.0)
    assert payload["Pi"] == 0.0 or payload["Po"] == 0.0
    assert meters.net_power_w(payload) == pytest.approx(net_w, abs=0.5)  # Pi and Po carry whole watts


@pytest.mark.parametrize("bad", [{"Pi": "1"}, {"Pi": None, "Po": 0}, {"Pi": -1, "Po": 0}, {"Pi": math.nan, "Po": 0}, {"Pi": True, "Po": 0}, {}])
def test_a_malformed_message_is_refused(bad):
    with pytest.raises(ValueError):
        meters.net_power_w({"Po": 0.0, **bad} if "Po" not in bad and bad else bad)


def test_a_reading_must_be_finite():
    with pytest.raises(ValueError):
        meters.sensor_payload("1", math.inf, 0.0, 0.0, 0.0)
