"""``GET /metrics``: the server in the Prometheus text format (prometheus-client).

Everything is read when Prometheus scrapes, from what the server already
counts; nothing is added to the tick. Names carry their unit
(``_seconds``, ``_watts``, ``_kwh``, ``_ratio``) and counters end in ``_total``.

* the engine: ticks, tick errors and overruns, the last step's duration, the
  tick lag, houses;
* viewers: sessions, open feeds, feed frames sent (delta, full) and skipped,
  control values refused, pages deferred by the page pace;
* MQTT (when enabled): connected, messages sent and dropped, rounds skipped, meter
  messages taken and rejected (by reason); an engine's snapshots shared and commands
  (applied, refused); a worker's connection, snapshots shown, messages rejected and
  commands sent;
* the community now: powers by flow, self-sufficiency and self-consumption,
  energy since start by account;
* the process (prometheus-client's own collector): CPU seconds, memory, open files.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from leg_sim.server import admission, cluster, feed, mqtt_link, pages, session
from leg_sim.ui import gate

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _gauge(name: str, doc: str, value: float | None) -> GaugeMetricFamily | None:
    return None if value is None else GaugeMetricFamily(name, doc, value=float(value))


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=float(value))


def _counters(name: str, doc: str, label: str, values: Mapping[str, float]) -> CounterMetricFamily:
    """One counter family with a sample per value of `label`."""
    family = CounterMetricFamily(name, doc, labels=[label])
    for key, value in values.items():
        family.add_metric([key], value)
    return family


class ServerCollector(Collector):
    """Reads the simulation and the server's counters at scrape time (see the module docstring)."""

    def __init__(self, sim: Any):
        self.sim = sim

    def collect(self) -> Iterator[Metric]:
        status = self.sim.status()
        metrics: list[Metric | None] = [
            _counter("leg_ticks", "Ticks computed since the simulation started (a restored count continues)", status["tick"]),
            _counter("leg_tick_errors", "Ticks that failed", status["error_count"]),
            _counter("leg_tick_overruns", "Ticks that took longer than the update interval", status["overrun_count"]),
            _gauge("leg_tick_duration_seconds", "Duration of the last tick's step", status["last_step_ms"] / 1000.0),
            _gauge("leg_tick_age_seconds", "Time since the last tick", status["tick_age_s"]),
            _gauge("leg_update_interval_seconds", "Wall-clock time between ticks", status["update_interval_ms"] / 1000.0),
            _gauge("leg_houses", "Houses in the community", status["house_count"]),
            _gauge("leg_paused", "1 while the simulation is paused", 1.0 if status["paused"] else 0.0),
            _gauge("leg_sessions", "Open dashboard sessions", session.active_sessions()),
            _counter("leg_control_values_refused", "Control values the server refused", gate.refused_count[0]),
            _counter("leg_pages_deferred", "Page requests answered with the busy page", admission.budget.refused),
            _counter("leg_pages_refused_full", "Page requests answered with the full page (session cap)", admission.full_refused[0]),
            _gauge("leg_max_sessions", "Most sessions this process holds", admission.max_sessions),
            _counter("leg_pages_refused_address", "Page requests refused because their address held its share of sessions",
                     admission.address_refused[0]),
            _gauge("leg_max_sessions_per_address", "Most sessions one client address holds", admission.max_per_address),
            _gauge("leg_wall_feeds", "Open feeds of pages built once, live and wall (pages without a session)", feed.standalone_feeds()),
            _counter("leg_wall_pages_built", "Pages built once for every viewer (once per layout, theme and house set)", pages.built_count[0]),
        ]
        hub = feed.hub()
        if hub is not None:
            metrics.append(_gauge("leg_feeds", "Open feed websockets", len(hub.sockets)))
            frames = {"delta": hub.sent_delta, "full": hub.sent_full}
            metrics.append(_counters("leg_feed_frames", "Feed frames written to pages, by kind", "kind", frames))
            metrics.append(_counter("leg_feed_frames_skipped", "Feed frames not written because the page's socket held unsent data", hub.skipped))
        link = mqtt_link.link()
        if link is not None:
            metrics += [
                _gauge("leg_mqtt_connected", "1 while connected to the MQTT broker", 1.0 if link.connected else 0.0),
                _counter("leg_mqtt_messages_sent", "MQTT messages handed to the broker connection", link.sent),
                _counter("leg_mqtt_messages_dropped", "MQTT messages the client refused", link.dropped),
                _counter("leg_mqtt_rounds_skipped", "Publish rounds skipped while the broker was away", link.skipped_rounds),
                _gauge("leg_mqtt_round_seconds", "Duration of the last publish round", link.last_round_s),
            ]
            counts = link.inbox.counts()
            metrics.append(_counter("leg_mqtt_messages_received", "Meter messages taken for measured houses", counts["accepted"]))
            metrics.append(_counters("leg_mqtt_messages_rejected", "Meter messages rejected, by reason", "reason", counts["rejected"]))
            if link.desk is not None:
                metrics.append(_counter("leg_engine_snapshots_shared", "Snapshots published for worker servers", link.snapshots_shared))
                metrics.append(_counters(
                    "leg_engine_commands", "Commands from worker servers, by result", "result",
                    {"applied": link.desk.applied, "refused": link.desk.refused},
                ))
        worker = cluster.worker()
        if worker is not None:
            metrics += [
                _gauge("leg_worker_connected", "1 while this worker is connected to the engine's broker", 1.0 if worker.connected else 0.0),
                _counter("leg_worker_snapshots", "Engine snapshots this worker has shown", worker.snapshots),
                _counter("leg_worker_messages_rejected", "Messages on the engine's topics this worker could not read", worker.rejected),
                _counter("leg_worker_commands_sent", "Control changes this worker sent to the engine", worker.commands),
            ]
        snap = self.sim.snapshot
        if snap is not None:
            power = GaugeMetricFamily("leg_community_power_watts", "The community's power now, by flow", labels=["flow"])
            for flow, value in (
                ("production", snap.total_production_w), ("consumption", snap.total_consumption_w), ("shared", snap.shared_w),
                ("grid_import", snap.grid_import_w), ("grid_export", snap.grid_export_w),
            ):
                power.add_metric([flow], value)
            energy = CounterMetricFamily("leg_energy_kwh", "Energy since the simulation started, by account", labels=["account"])
            for account, value in snap.energy_kwh.items():
                energy.add_metric([account.removesuffix("_kwh")], value)
            metrics += [
                power, energy,
                _gauge("leg_self_sufficiency_ratio", "Share of the consumption not drawn from the grid, now", snap.self_sufficiency),
                _gauge("leg_self_consumption_ratio", "Share of the production not fed into the grid, now", snap.self_consumption),
            ]
        yield from (m for m in metrics if m is not None)


_registry: list[CollectorRegistry] = []


def registry(sim: Any) -> CollectorRegistry:
    """The process's registry: the server collector and the process collector (made once)."""
    if not _registry:
        reg = CollectorRegistry(auto_describe=False)
        reg.register(ServerCollector(sim))
        ProcessCollector(registry=reg)
        _registry.append(reg)
    return _registry[0]


def exposition(sim: Any) -> bytes:
    """The text the scrape gets."""
    return generate_latest(registry(sim))
