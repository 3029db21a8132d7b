"""The deploy files: pinned versions for the image, a sandboxed systemd unit with a watchdog, nginx samples."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONSTRAINTS = REPO / "deploy" / "constraints.txt"
UNIT = REPO / "deploy" / "leg-sim.service"


def pinned() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, exact = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name.strip().lower())] = exact.strip()
    return pins


def test_every_runtime_dependency_is_pinned_for_the_image():
    # The [project] dependencies list (tomllib is not in Python 3.10).
    block = re.search(r"^dependencies = \[(.*?)^\]", (REPO / "pyproject.toml").read_text(), re.S | re.M)
    assert block is not None
    deps = re.findall(r'^\s*"([^"]+)"', block.group(1), re.M)
    assert len(deps) >= 10
    pins = pinned()
    for dep in deps:
        name = re.sub(r"[-_.]+", "-", re.split(r"[<>=!~ ;\[]", dep, maxsplit=1)[0].lower())
        assert name in pins, f"{name} is not pinned in {CONSTRAINTS.name}"
    assert "-c deploy/constraints.txt" in (REPO / "Dockerfile").read_text()


def test_the_bokeh_and_panel_under_test_are_the_pinned_ones():
    # leg_sim.server.guards and backpressure, and ExactIntSlider, rely on their internals.
    pins = pinned()
    assert version("bokeh") == pins["bokeh"] and version("panel") == pins["panel"]


def test_the_unit_is_sandboxed_keeps_state_and_has_a_watchdog():
    text = UNIT.read_text()
    settings = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    assert settings["Type"] == "notify" and int(settings["WatchdogSec"]) > 0
    assert settings["CapabilityBoundingSet"] == "" and settings["StateDirectory"] == "leg-simulator"
    for key in ("RestrictAddressFamilies", "SystemCallFilter", "ProtectClock", "RestrictNamespaces", "NoNewPrivileges", "ProtectSystem"):
        assert settings.get(key), key
    assert "VOLUME /state" in (REPO / "Dockerfile").read_text()
    # Open files for the default session cap (two websockets a session) and the rest.
    from leg_sim.server.admission import FDS_PER_SESSION, MAX_SESSIONS, RESERVED_FDS

    assert int(settings["LimitNOFILE"]) >= MAX_SESSIONS * FDS_PER_SESSION + RESERVED_FDS


def test_both_nginx_samples_pass_the_viewers_own_address_and_no_address_a_viewer_sent():
    # Behind the proxy the server takes the viewer's address from X-Real-IP before X-Forwarded-For
    # (Tornado's xheaders); the per-address session limit counts on that address being nginx's own
    # view of the client, not a header the client chose.
    readme = (REPO / "README.md").read_text()
    samples = {"deploy/nginx-workers.conf": (REPO / "deploy" / "nginx-workers.conf").read_text(),
               "README.md": readme[readme.index("server {"):]}
    for name, text in samples.items():
        assert re.search(r"proxy_set_header\s+X-Real-IP\s+\$remote_addr;", text), name
        assert re.search(r"proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for;", text), name
    assert re.search(r"^Environment=LEG_USE_XHEADERS=1$", UNIT.read_text(), re.M)
