"""Command line: `python -m leg_sim {check-config,run,serve,settings}`.

* ``check-config [PATH]`` validates a config and prints a one-line summary.
* ``run [PATH]`` runs the engine headless and prints one line per tick.
* ``serve [PATH] [--worker]`` starts the dashboard server (see leg_sim.server.launch); a
  worker runs no simulation and shows an engine's through the broker (leg_sim.server.cluster).
* ``settings --markdown|--yaml`` prints the README's configuration tables or the
  shipped config.yaml, both generated from leg_sim.settings.

PATH defaults to $LEG_CONFIG, else ./config.yaml. A config error prints one
line to stderr and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from leg_sim import settings as declared
from leg_sim.config import ENV_CONFIG, ConfigError, load_config
from leg_sim.model import weather_source
from leg_sim.units import format_power


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leg_sim", description="LEG-Simulator command line")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_ in (
        ("check-config", "validate a config file"),
        ("run", "run the engine headless, one line per tick"),
        ("serve", "start the dashboard server"),
    ):
        p = sub.add_parser(name, help=help_)
        p.add_argument("config", nargs="?", default=None, help=f"YAML file (default: ${ENV_CONFIG} or config.yaml)")
        if name == "run":
            p.add_argument("--ticks", type=int, default=0, help="stop after this many ticks (0 = run until Ctrl-C)")
        if name == "serve":
            p.add_argument("--worker", action="store_true", help="show the community of an engine (mqtt.workers: true) through the broker")
    p = sub.add_parser("settings", help="print the configuration tables (Markdown) or config.yaml, from the declarations")
    form = p.add_mutually_exclusive_group(required=True)
    form.add_argument("--markdown", action="store_true", help="the README's configuration tables")
    form.add_argument("--yaml", action="store_true", help="config.yaml with every key at its default")
    args = parser.parse_args(argv)
    if args.command == "settings":
        print(declared.markdown_tables() if args.markdown else declared.yaml_template(declared.HOUSE_EXAMPLE), end="")
        return 0
    path = args.config or os.environ.get(ENV_CONFIG) or None
    try:
        settings = load_config(path)
        weather_source(settings)  # a TMY file is read and checked before anything starts
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if args.command == "check-config":
        print(
            f"{settings.source}: ok ({settings.house_count} houses, {settings.update_interval_ms} ms interval, "
            f"clock {settings.clock.mode}, port {settings.port})"
        )
        return 0
    if args.command == "serve":
        from leg_sim.server.launch import serve

        return serve(settings, worker=args.worker)

    from leg_sim.engine import Simulation

    sim = Simulation(settings)
    count = 0
    try:
        while args.ticks <= 0 or count < args.ticks:
            started = time.monotonic()
            snap = sim.step()
            count += 1
            print(
                f"tick {snap.tick:6d} {snap.timestamp:%Y-%m-%d %H:%M:%S} "
                f"PV {format_power(snap.total_production_w):>9} load {format_power(snap.total_consumption_w):>9} "
                f"import {format_power(snap.grid_import_w):>9} export {format_power(snap.grid_export_w):>9}",
                flush=True,
            )
            if args.ticks <= 0 or count < args.ticks:
                time.sleep(max(sim.update_interval_ms / 1000 - (time.monotonic() - started), 0.0))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
