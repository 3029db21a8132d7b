"""Unattended recovery: an overlay while the server is unreachable, and a reload when it is back.

A wall screen has nobody to press reload. Once the page is ready, a small
script (run in the browser, no server traffic beyond the poll) asks
``/healthz`` every :data:`POLL_MS`. When the request fails, it covers the
page with a clear overlay ("server unreachable, reconnecting"); when the
server answers again, or answers with another ``server_id`` (it restarted
while the page was open), the page reloads itself and gets a new session.
A stalled but reachable server (HTTP 503) is not "gone": the page keeps
showing its numbers and the KPI clock shows their age.

The wall page, built once for every viewer (:mod:`leg_sim.server.pages`), does
not poll: its feed socket tells it the server is gone, and it shows the same
overlay (:data:`OVERLAY_TEXT`, :data:`OVERLAY_CSS`) once the feed has been
closed for :data:`OFFLINE_AFTER_MS` (:mod:`leg_sim.ui.feed`).
"""

from __future__ import annotations

from bokeh.models import CustomJS

#: How often the page asks the server whether it is there. [ms]
POLL_MS = 2000
#: How long one poll may take before it counts as failed. [ms]
POLL_TIMEOUT_MS = 3000
#: How long a wall page's feed stays closed before the page shows the overlay. [ms]
OFFLINE_AFTER_MS = 3000
#: Text of the overlay while the server cannot be reached.
OVERLAY_TEXT = "LEG-Simulator server unreachable · the numbers shown are frozen · reconnecting…"
#: Style of the overlay (it covers the whole page; hidden until shown).
OVERLAY_CSS = (
    "position:fixed;inset:0;z-index:10000;display:none;align-items:center;justify-content:center;"
    "background:rgba(0,0,0,.72);color:#fff;font:600 clamp(18px,2.5vw,40px)/1.3 sans-serif;text-align:center;padding:5vw"
)

#: Browser function that adds the overlay to the page, hidden (:data:`OVERLAY_CSS`), and returns it;
#: the wall page's feed script uses it too.
OVERLAY_JS = """
function legOverlay(text, css) {
  const overlay = document.createElement("div");
  overlay.className = "leg-offline";
  overlay.setAttribute("role", "alert");
  overlay.textContent = text;
  overlay.style.cssText = css;
  document.body.appendChild(overlay);
  return overlay;
}
"""

_JS = OVERLAY_JS + """
if (window.__legReconnect) { return; }
window.__legReconnect = true;
let known = null;
let lost = false;
const overlay = legOverlay(text, css);
const healthz = new URL("healthz", document.baseURI).href;
async function poll() {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeout_ms);
    try {
        const reply = await fetch(healthz, {cache: "no-store", signal: abort.signal});
        const body = await reply.json();
        if (known === null) { known = body.server_id; }
        if (lost || body.server_id !== known) { window.location.reload(); return; }
    } catch (err) {
        lost = true;
        overlay.style.display = "flex";
    } finally {
        clearTimeout(timer);
    }
    setTimeout(poll, poll_ms);
}
setTimeout(poll, poll_ms);
"""


def reconnect_script() -> CustomJS:
    """The browser-side watchdog (see the module docstring), for the document's ``document_ready`` event."""
    return CustomJS(args=dict(text=OVERLAY_TEXT, css=OVERLAY_CSS, poll_ms=POLL_MS, timeout_ms=POLL_TIMEOUT_MS), code=_JS)
