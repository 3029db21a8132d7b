"""The README's API example runs as written; the layers import one way; docs match the declarations."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

from leg_sim import settings

REPO = Path(__file__).resolve().parents[1]
UI_LIBS = {"panel", "bokeh", "holoviews", "plotly"}

#: The layers, top to bottom. A module imports only from layers above its own, or from
#: its own package within its layer (ui from ui, profiles from profiles).
LAYERS = (
    ("leg_sim.catalogue", "leg_sim.units"),
    ("leg_sim.settings",),
    ("leg_sim.config",),
    ("leg_sim.profiles", "leg_sim.flows", "leg_sim.seams", "leg_sim.meters"),
    ("leg_sim.model",),
    ("leg_sim.clock",),
    ("leg_sim.snapshot", "leg_sim.history", "leg_sim.state_store"),
    ("leg_sim.engine",),
    ("leg_sim.ui",),
    ("leg_sim.server",),
    ("leg_sim.__main__", "leg_sim", "apps"),
)


def layer_of(module: str) -> tuple[int, str]:
    """(layer index, the layer entry the module belongs to) by the longest matching prefix."""
    best = None
    for index, entries in enumerate(LAYERS):
        for entry in entries:
            if (module == entry or module.startswith(entry + ".")) and (best is None or len(entry) > len(best[1])):
                best = (index, entry)
    assert best is not None, f"{module} is in no layer"
    return best


def project_modules() -> dict[str, Path]:
    found = {}
    for path in sorted((REPO / "leg_sim").rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    for path in sorted((REPO / "apps").glob("*.py")):
        found["apps." + path.stem] = path
    return found


def imported_project_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module == "leg_sim":
            for alias in node.names:  # from leg_sim import flows (a module) or Simulation (the package face)
                is_module = (REPO / "leg_sim" / f"{alias.name}.py").exists() or (REPO / "leg_sim" / alias.name).is_dir()
                names.add(f"leg_sim.{alias.name}" if is_module else "leg_sim")
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {n for n in names if n.split(".")[0] == "leg_sim"}


def test_every_module_imports_only_from_the_layers_above():
    upward = []
    for module, path in project_modules().items():
        own_layer, own_entry = layer_of(module)
        for target in imported_project_modules(path):
            if target == "leg_sim" and module.startswith("leg_sim"):
                upward.append(f"{module} imports the package face leg_sim")
                continue
            layer, entry = layer_of(target)
            if layer < own_layer or (layer == own_layer and entry == own_entry):
                continue
            upward.append(f"{module} (layer {own_layer}) imports {target} (layer {layer})")
    assert upward == []


def test_the_layer_table_knows_every_module():
    for module in project_modules():
        layer_of(module)  # raises for a module that belongs to no layer


def test_importing_any_module_starts_nothing_and_exits_nothing():
    modules = [m for m in project_modules() if not m.startswith("apps")]
    code = f"""
import importlib, json, sys, threading
before = threading.active_count()
for name in {modules!r}:
    importlib.import_module(name)
from leg_sim.server import engine_host
print(json.dumps({{"threads": threading.active_count() - before, "engine": engine_host._simulation is not None}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"threads": 0, "engine": False}


def test_readme_configuration_tables_are_the_declarations():
    text = (REPO / "README.md").read_text()
    block = re.search(r"<!-- settings-table:start -->\n(.*?)<!-- settings-table:end -->", text, re.S)
    assert block is not None, "README lacks the settings-table markers"
    assert block.group(1) == settings.markdown_tables(), "regenerate with: python -m leg_sim settings --markdown"


def test_shipped_config_is_the_declarations():
    shipped = (REPO / "config.yaml").read_text()
    assert shipped == settings.yaml_template(settings.HOUSE_EXAMPLE), "regenerate with: python -m leg_sim settings --yaml > config.yaml"


def test_readme_api_example_runs_as_written(monkeypatch, capsys):
    text = (REPO / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(REPO)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "grid_import_w" in out and "2026-06-21 08:59:00" in out  # last history row: tick 60, 10:59 CEST
    assert namespace["sim"].tick == 60


def test_no_ui_library_below_ui_and_server():
    offenders = []
    for path in (REPO / "leg_sim").rglob("*.py"):
        rel = path.relative_to(REPO / "leg_sim").parts
        if rel[0] in ("ui", "server"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in UI_LIBS]
    assert offenders == []


def test_every_module_has_a_docstring():
    missing = [
        str(p.relative_to(REPO))
        for p in list((REPO / "leg_sim").rglob("*.py")) + list((REPO / "apps").glob("*.py"))
        if not ast.get_docstring(ast.parse(p.read_text()))
    ]
    assert missing == []
