"""Imports run one way: odwatch's base → warehouse → ingest → detectors → reports → dashboard →
demo → the entry points (odwatch.cli, streamlit_app.py). Nothing in production imports demo/,
and only the dashboard imports Streamlit."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["odwatch", "warehouse", "ingest", "detectors", "reports", "dashboard", "demo", "entry"]
ENTRY_MODULES = {"odwatch.cli", "odwatch.__main__", "streamlit_app"}
PACKAGES = set(LAYERS) - {"entry"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int | None:
    if module in ENTRY_MODULES:
        return LAYERS.index("entry")
    top = module.split(".")[0]
    return LAYERS.index(top) if top in PACKAGES else None


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import, at any depth (imports inside functions count)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from odwatch import cli` imports the module odwatch.cli, not the package's base
            names = [f"{node.module}.{a.name}" for a in node.names] if node.module in PACKAGES else []
            found += [(node.lineno, name) for name in names or [node.module]]
    return found


def production_modules() -> list[tuple[str, Path]]:
    files = [ROOT / "streamlit_app.py"]
    for package in PACKAGES:
        files += sorted((ROOT / package).rglob("*.py"))
    return [(module_name(path), path) for path in files]


def layer_violations(modules: list[tuple[str, Path]]) -> list[str]:
    problems = []
    for module, path in modules:
        own = layer_of(module)
        for line, target in imports_of(path):
            their = layer_of(target)
            if their is not None and their > own:
                problems.append(f"{module}:{line} imports {target} from a layer above")
            if target.split(".")[0] == "streamlit" and LAYERS[own] not in ("dashboard", "entry"):
                problems.append(f"{module}:{line} imports Streamlit outside the dashboard")
    return problems


def test_every_import_points_down_the_layers():
    assert layer_violations(production_modules()) == []


def test_the_check_catches_imports_that_run_back_up(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from detectors.base import Alert\nimport streamlit as st\nfrom odwatch import cli\n")
    assert layer_violations([("ingest.probe", probe)]) == [
        "ingest.probe:1 imports detectors.base from a layer above",
        "ingest.probe:2 imports Streamlit outside the dashboard",
        "ingest.probe:3 imports odwatch.cli from a layer above",
    ]
    assert layer_violations([("odwatch.cli", probe)]) == []


@pytest.mark.parametrize("package", ["ingest", "detectors", "reports", "dashboard", "warehouse"])
def test_no_production_package_holds_demo_or_synthetic_data_code(package):
    names = [p.name for p in (ROOT / package).rglob("*.py")]
    assert not [n for n in names if "synthetic" in n or n.startswith("demo")]
