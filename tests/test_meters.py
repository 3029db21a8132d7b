"""A house as a smart meter: stable addresses and numbers, and the {MAC}/SENSOR message of the
LEG smart-meter simulator (SensorsIot/LEG-Software, leg-mqtt-simulator spec, section 9)."""

from __future__ import annotations

import json
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


# --------------------------------------------------------------------------- real meters in


def message(**fields) -> bytes:
    return json.dumps({"SMid": "60222760", "Pi": 0.0, "Po": 0.0, **fields}).encode()


def test_a_valid_message_gives_its_net_power_and_time():
    assert meters.read_sensor_message(message(Pi=1.047, Po=0.0, ts=12589)) == (pytest.approx(-1047.0), 12589.0)
    assert meters.read_sensor_message(message(Pi=0.0, Po=2.5)) == (pytest.approx(2500.0), None)
    # The example of the specification, as it is.
    assert meters.read_sensor_message(json.dumps(SPEC_EXAMPLE).encode())[0] == pytest.approx(-1047.0)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{" * 5000, "too large"),
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not an object"),
        (b"42", "not an object"),
        (message(Pi="1.0"), "bad power"),
        (message(Pi=-0.5), "bad power"),
        (message(Po=True), "bad power"),
        (b'{"Pi": NaN, "Po": 0}', "bad power"),
        (b'{"Po": 1.0}', "bad power"),
        (message(Pi=300.0), "out of range"),
        (message(Po=1e9), "out of range"),
        (message(ts="noon"), "bad time"),
        (message(ts=1.7e12), "bad time"),  # milliseconds, not seconds
        (message(ts=-1), "bad time"),
    ],
)
def test_a_bad_message_is_rejected_with_its_reason(payload, reason):
    with pytest.raises(meters.MeterMessageError) as info:
        meters.read_sensor_message(payload)
    assert info.value.reason == reason and reason in meters.REJECT_REASONS


class FakeClock:
    def __init__(self):
        self.now_s = 1000.0

    def __call__(self):
        return self.now_s


def test_the_inbox_keeps_the_latest_valid_message_and_rejects_older_ones():
    clock = FakeClock()
    inbox = meters.MeterInbox(stale_after_s=60.0, clock=clock)
    assert inbox.receive("a/SENSOR", message(Pi=1.0, ts=100)) is None
    clock.now_s += 5.0
    assert inbox.receive("a/SENSOR", message(Pi=9.0, ts=100)) == "out of order"  # a repeat
    assert inbox.receive("a/SENSOR", message(Pi=9.0, ts=99)) == "out of order"
    assert inbox.receive("a/SENSOR", b"garbage") == "not JSON"
    r = inbox.readings(["a/SENSOR", "b/SENSOR"])
    assert list(r.net_power_w) == [-1000.0, 0.0]  # b never spoke
    assert r.age_s[0] == pytest.approx(5.0) and math.isnan(r.age_s[1])
    assert list(r.stale) == [False, True]
    assert inbox.receive("a/SENSOR", message(Po=2.0, ts=101)) is None
    assert inbox.readings(["a/SENSOR"]).net_power_w[0] == 2000.0
    # Without ts, messages are taken in the order they arrive.
    assert inbox.receive("b/SENSOR", message(Po=0.3)) is None
    assert inbox.receive("b/SENSOR", message(Po=0.4)) is None
    assert inbox.readings(["b/SENSOR"]).net_power_w[0] == pytest.approx(400.0)
    assert inbox.counts() == {"accepted": 4, "rejected": dict(dict.fromkeys(meters.REJECT_REASONS, 0), **{"out of order": 2, "not JSON": 1})}


def test_a_silent_meter_turns_stale_and_counts_as_zero():
    clock = FakeClock()
    inbox = meters.MeterInbox(stale_after_s=30.0, clock=clock)
    inbox.receive("a/SENSOR", message(Pi=3.0))
    clock.now_s += 29.9
    assert not inbox.readings(["a/SENSOR"]).stale[0]
    clock.now_s += 0.2
    r = inbox.readings(["a/SENSOR"])
    assert r.stale[0] and r.net_power_w[0] == 0.0 and r.age_s[0] == pytest.approx(30.1)


def test_rejected_messages_are_logged_at_most_once_a_minute_per_topic(caplog):
    clock = FakeClock()
    inbox = meters.MeterInbox(stale_after_s=30.0, clock=clock)
    with caplog.at_level("WARNING", logger="leg_sim.meters"):
        for _ in range(100):
            inbox.receive("a/SENSOR", b"junk")
            clock.now_s += 0.1
        clock.now_s += meters.REJECT_LOG_EVERY_S
        inbox.receive("a/SENSOR", b"junk")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "99 more rejected" in lines[1] and "\n" not in lines[0]
    assert inbox.counts()["rejected"]["not JSON"] == 101


FIELD_VALUES = st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats() | st.text(max_size=5)
MESSAGES = st.binary(max_size=300) | st.dictionaries(st.sampled_from(["Pi", "Po", "ts", "SMid"]), FIELD_VALUES, max_size=4).map(
    lambda d: json.dumps(d).encode()
)


@given(MESSAGES)
def test_any_message_is_taken_or_rejected_and_a_rejected_one_changes_nothing(payload):
    clock = FakeClock()
    inbox = meters.MeterInbox(stale_after_s=60.0, clock=clock)
    inbox.receive("a/SENSOR", message(Pi=1.0, ts=1000))
    before = inbox.readings(["a/SENSOR"])
    reason = inbox.receive("a/SENSOR", payload)
    after = inbox.readings(["a/SENSOR"])
    if reason is None:
        assert math.isfinite(after.net_power_w[0]) and abs(after.net_power_w[0]) <= meters.MAX_CONNECTION_KW * 1000.0
    else:
        assert reason in meters.REJECT_REASONS and after.net_power_w[0] == before.net_power_w[0]
    counts = inbox.counts()
    assert counts["accepted"] + sum(counts["rejected"].values()) == 2
