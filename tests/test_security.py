"""Who may drive the shared simulation, and what the server accepts from them.

Pure parts (origins, the session secret, the controls' server-side check) are
tested directly, the check with Hypothesis; the rest against a real server on
loopback started as `make serve` starts it, with raw websocket clients that send
what a browser never would.
"""

from __future__ import annotations

import math
import stat
import time
from pathlib import Path

import pytest
import websocket
from hypothesis import given
from hypothesis import strategies as st
from server_support import Server, get_json

from benchmarks.ws_client import RawSession, find_models
from leg_sim.server import security
from leg_sim.settings import ControlError, control_bounds, control_value, live_settings, setting

HOUSES = setting("houses")
SPEED = setting("clock.speed_factor")


# --------------------------------------------------------------------------- origins and secret


def test_default_origins_are_this_machine_with_the_port_and_never_any():
    origins, warning = security.allowed_origins(8050, "0.0.0.0", {})
    assert warning is None and "*" not in origins
    assert {"localhost:8050", "127.0.0.1:8050"} <= set(origins)
    assert all(o.endswith(":8050") for o in origins)


def test_any_origin_only_when_asked_and_then_with_a_warning():
    origins, warning = security.allowed_origins(8050, "0.0.0.0", {security.ENV_ALLOW_ORIGIN: "leg.example.org, *"})
    assert origins == ["*"] and warning and "any web site" in warning
    origins, warning = security.allowed_origins(8050, "0.0.0.0", {security.ENV_ALLOW_ORIGIN: "leg.example.org,leg.example.org:8443"})
    assert origins == ["leg.example.org", "leg.example.org:8443"] and warning is None


def test_the_secret_is_made_once_kept_private_and_reused(tmp_path):
    first = security.secret_key({}, tmp_path / "state")
    path = tmp_path / "state" / security.SECRET_FILE
    assert len(first) >= security.MIN_SECRET_CHARS
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert security.secret_key({}, tmp_path / "state") == first
    given_key = "x" * 40
    assert security.secret_key({security.ENV_SECRET: given_key}, tmp_path / "state") == given_key
    with pytest.raises(security.SecurityError, match="at least 32"):
        security.secret_key({security.ENV_SECRET: "short"}, tmp_path)


def test_state_dir_follows_the_environment(tmp_path):
    assert security.state_dir({security.ENV_STATE_DIR: str(tmp_path)}) == tmp_path
    assert security.state_dir({security.ENV_SYSTEMD_STATE_DIR: f"{tmp_path}:/other"}) == tmp_path
    assert security.state_dir({}, cwd=tmp_path) == tmp_path / ".leg-state"


# --------------------------------------------------------------------------- the controls' check

anything = st.one_of(
    st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@given(value=anything, index=st.integers(0, len(live_settings()) - 1))
def test_a_control_value_is_taken_only_within_what_its_widget_offers(value, index):
    s = live_settings()[index]
    configured = s.default
    try:
        taken = control_value(s, value, configured)
    except ControlError as exc:
        message = str(exc)
        taken = None
    if taken is None:
        assert "allowed:" in message and "\n" not in message and len(message) < 200
        return
    assert not isinstance(value, (list, dict)) and value is not None
    if s.kind in ("integer", "houses"):
        lo, hi = control_bounds(s, configured)
        assert isinstance(taken, int) and not isinstance(value, bool) and lo <= taken <= hi and taken == value
    elif s.kind == "number":
        assert math.isfinite(taken) and not isinstance(value, bool)
        if s.presets:
            assert taken in {*map(float, s.presets), float(configured)}
        else:
            lo, hi = control_bounds(s, configured)
            assert lo <= taken <= hi
    else:
        assert taken in (s.choices or ())


def test_houses_stop_where_the_slider_stops_unless_the_config_started_higher():
    assert control_value(HOUSES, 200, 20) == 200
    for bad in (201, 10_000, 1.5, 0, -3, "abc", None, [5], True):
        with pytest.raises(ControlError):
            control_value(HOUSES, bad, 20)
    assert control_value(HOUSES, 500, 500) == 500  # a community configured with 500 houses keeps its slider end
    assert control_value(SPEED, 60.0, 60.0) == 60.0
    with pytest.raises(ControlError, match="one of 1, 10, 60"):
        control_value(SPEED, 61.0, 60.0)


# --------------------------------------------------------------------------- a real server

CONFIG = {"houses": 5, "update_interval_ms": 500}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("secure")
    srv = Server(tmp, CONFIG, env={security.ENV_STATE_DIR: str(tmp / "state")}, launcher=True)
    with srv:
        yield srv


def _houses_slider(doc: dict) -> dict:
    sliders = [m for m in find_models(doc, "Slider") if str(m["attributes"].get("title", "")).startswith(HOUSES.full_label)]
    assert len(sliders) == 1, [m["attributes"].get("title") for m in find_models(doc, "Slider")]
    return sliders[0]


def _house_count(server) -> int:
    return len(get_json(server.base + "/api/state")[1]["houses"])


def test_the_launcher_keeps_its_secret_in_the_state_directory(server):
    key = Path(server.env[security.ENV_STATE_DIR]) / security.SECRET_FILE
    assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600


def test_a_page_from_a_foreign_origin_gets_no_session(server):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        RawSession(server.base, origin="http://evil.example.org").open()
    assert refused.value.status_code == 403
    RawSession(server.base).open().close()  # the server's own origin is let in


def test_a_client_without_an_origin_gets_no_session(server):
    from benchmarks.ws_client import session_token

    token = session_token(server.base)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(
            f"ws://{server.base.split('//', 1)[1]}/main/ws", subprotocols=["bokeh", token], suppress_origin=True, timeout=30
        )
    assert refused.value.status_code == 403


def test_a_made_up_session_id_is_refused(server):
    from bokeh.util.token import generate_jwt_token

    forged = generate_jwt_token("made-up-session-id", signed=False)
    wrongly_signed = generate_jwt_token("made-up-session-id", secret_key=b"not-the-servers-secret-0123456789abcdef", signed=True)
    for token in (forged, wrongly_signed):
        assert _refused(RawSession(server.base, token=token)), token


def _refused(client: RawSession) -> bool:
    """True when the server will not give `client` a document (refused at the handshake or closed)."""
    try:
        client.open().pull()
    except (websocket.WebSocketBadStatusException, websocket.WebSocketConnectionClosedException, ConnectionError):
        return True
    finally:
        client.close()
    return False


def test_a_raw_client_cannot_pass_the_widgets_limits_and_hears_no_traceback(server):
    client = RawSession(server.base).open()
    try:
        slider = _houses_slider(client.pull())
        client.ready()
        before = _house_count(server)
        for bad in (10_000, 1.5, -1):
            client.set_property(slider["id"], "value", bad)
            client.replies(1.5)
            assert _house_count(server) == before, bad
        for bad in ("abc", None, [1, 2]):
            client.set_property(slider["id"], "value", bad)
            errors = [c for h, c in client.replies(1.5) if h["msgtype"] == "ERROR"]
            assert errors and all(e.get("traceback") is None and "\n" not in e["text"] for e in errors), errors
            assert _house_count(server) == before
        # The check is not a wall: a value the slider offers is applied.
        client.set_property(slider["id"], "value", before + 2)
        deadline = time.monotonic() + 10
        while _house_count(server) != before + 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _house_count(server) == before + 2
        assert get_json(server.base + "/healthz")[0] == 200
    finally:
        client.close()

