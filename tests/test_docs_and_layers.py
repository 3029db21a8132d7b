"""The README's API example runs as written; the layers keep Panel out of the model."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UI_LIBS = {"panel", "bokeh", "holoviews", "plotly"}


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
