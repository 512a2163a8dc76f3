"""Streamlit through its public API only, everywhere in the repository (product code, tests, bench).

Every .py file outside hidden folders (.venv) is parsed. Refused: importing a `streamlit.` module
that is not in PUBLIC_MODULES; reaching a private name (one underscore) through `streamlit`
or a module of it (`st._x`, `st.runtime._y`); reaching a module of Streamlit through `st.` other
than the documented paths in PUBLIC_MODULE_PATHS (`st.config`, `st.delta_generator`, ...);
`gc.freeze`; and any string naming Streamlit's index page (a rewrite of it).
"""

from __future__ import annotations

import ast
import importlib.util
import types
from pathlib import Path

import pytest
import streamlit

ROOT = Path(__file__).resolve().parent.parent
# Modules Streamlit's API reference documents for import. Add one only when it is documented there.
PUBLIC_MODULES = frozenset({"streamlit", "streamlit.testing.v1"})
# Documented names reached through a module attribute of `st`.
PUBLIC_MODULE_PATHS = frozenset({"runtime.exists"})
INDEX_PAGE = "index" + ".html"        # spelled apart, so this file does not name it
# Files that may still break these rules, each with the reason. The test fails once an entry is no
# longer needed, so that it is removed.
PENDING: dict[str, str] = {}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_module(dotted: str) -> bool:
    try:
        return importlib.util.find_spec(dotted) is not None
    except (ImportError, ValueError):
        return False


def _module_path(dotted: str) -> str | None:
    """How far `st.<dotted>` goes into Streamlit's modules: "runtime.exists" for st.runtime.exists
    (runtime is a module, exists is not), None for st.cache_data.clear (cache_data is no module)."""
    parts = dotted.split(".")
    target: object = streamlit
    name = "streamlit"
    for index, part in enumerate(parts):
        name = f"{name}.{part}"
        attribute = getattr(target, part, None)
        if isinstance(attribute, types.ModuleType) or (attribute is None and _is_module(name)):
            target = attribute
            continue
        return ".".join(parts[:index + 1]) if index else None
    return dotted


def _chain(node: ast.Attribute) -> tuple[str, list[str]] | None:
    """(root name, attribute names) of `a.b.c`; None when the chain does not start at a name."""
    parts = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        parts.append(current.attr)
        current = current.value
    return (current.id, parts[::-1]) if isinstance(current, ast.Name) else None


def violations(source: str, filename: str = "<source>") -> list[str]:
    """Every use of Streamlit outside its public API in `source`, and the first-render tricks."""
    tree = ast.parse(source, filename)
    found: list[str] = []
    streamlit_names: set[str] = set()
    gc_names: set[str] = set()

    def refuse(node: ast.AST, what: str) -> None:
        found.append(f"{filename}:{node.lineno}: {what}")

    def check_module(node: ast.AST, module: str) -> None:
        if module.split(".")[0] == "streamlit" and module not in PUBLIC_MODULES:
            refuse(node, f"import of {module}, not a public module of Streamlit")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                check_module(node, alias.name)
                if any(_is_private(part) for part in alias.name.split(".")[1:]):
                    refuse(node, f"import of the private {alias.name}")
                if alias.name == "streamlit" or (alias.name.startswith("streamlit.") and not alias.asname):
                    streamlit_names.add(alias.asname or "streamlit")
                if alias.name == "gc":
                    gc_names.add(alias.asname or "gc")
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if node.module == "gc" and alias.name == "freeze":
                    refuse(node, "gc.freeze")
                if node.module.split(".")[0] != "streamlit":
                    continue
                if _is_private(alias.name):
                    refuse(node, f"import of the private {node.module}.{alias.name}")
                submodule = f"{node.module}.{alias.name}"
                check_module(node, submodule if _is_module(submodule) else node.module)

    below: set[int] = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in below:
            chain = _chain(node)
            if chain is None:
                continue
            root, parts = chain
            if root in gc_names and parts[0] == "freeze":
                refuse(node, "gc.freeze")
            if root not in streamlit_names:
                continue
            dotted = ".".join(parts)
            if any(_is_private(part) for part in parts):
                refuse(node, f"the private st.{dotted}")
            reached = _module_path(dotted)
            if reached is not None and not any(reached == path or dotted.startswith(path + ".")
                                               for path in PUBLIC_MODULE_PATHS):
                refuse(node, f"st.{dotted}, through a module of Streamlit that is not public")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and len(node.args) >= 2 and isinstance(node.args[0], ast.Name)
              and node.args[0].id in streamlit_names and isinstance(node.args[1], ast.Constant)
              and isinstance(node.args[1].value, str) and _is_private(node.args[1].value)):
            refuse(node, f"the private st.{node.args[1].value}")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and INDEX_PAGE in node.value.lower()):
            refuse(node, f"a string naming Streamlit's {INDEX_PAGE}")
    return found


def python_files() -> list[Path]:
    return sorted(path for path in ROOT.rglob("*.py")
                  if not any(part.startswith(".") for part in path.relative_to(ROOT).parts))


def test_the_repository_uses_streamlit_through_its_public_api_only():
    files = python_files()
    assert ROOT / "streamlit_app.py" in files and ROOT / "tests" / "test_e2e.py" in files
    found = {}
    for path in files:
        relative = path.relative_to(ROOT).as_posix()
        problems = violations(path.read_text(encoding="utf-8"), relative)
        if problems:
            found[relative] = problems
    unexpected = {path: problems for path, problems in found.items() if path not in PENDING}
    assert unexpected == {}
    assert sorted(found) == sorted(PENDING), "an exception in PENDING is no longer needed: remove it"


# What the code before issue #18 did, line for line (dashboard/session.py, dashboard/signin.py,
# dashboard/signin_shell.py, dashboard/cli.py, tests/test_dash_shell_app.py), and what must pass.
REFUSED = [
    "from streamlit.runtime.scriptrunner import get_script_run_ctx",
    "from streamlit import config",
    "from streamlit.file_util import get_static_dir",
    "from streamlit.url_util import make_url_path",
    "from streamlit.web import cli as streamlit_cli",
    "from streamlit.web import bootstrap",
    "import streamlit.web.cli",
    "from streamlit import delta_generator\ndelta_generator._use_warning_has_been_displayed = True",
    "import streamlit as st\nst.delta_generator._use_warning_has_been_displayed = True",
    "import streamlit as st\nst.config.get_option('server.baseUrlPath')",
    "import streamlit as st\nst._main",
    "import streamlit\nstreamlit._bottom",
    "import streamlit as st\nst.runtime._thing",
    "import streamlit as st\ngetattr(st, '_main')",
    "from streamlit import _main",
    "import gc\ngc.collect()\ngc.freeze()",
    "from gc import freeze",
    "index = (Path(static_dir) / '" + INDEX_PAGE + "').read_text().replace('<div id=\"root\">', form)",
]
ALLOWED = [
    "import streamlit as st\nst.title('x')\nst.session_state['a'] = 1\nst.sidebar.button('b')",
    "import streamlit as st\nif st.runtime.exists():\n    st.cache_data.clear()",
    "import streamlit as st\nst.get_option('server.baseUrlPath')\nst.navigation([])\nst.dataframe([])",
    "from streamlit.testing.v1 import AppTest",
    "import streamlit.testing.v1",
    "from streamlit.testing import v1",
    "import streamlit as st\nst.__version__",
    "import gc\ngc.collect()",
    "from odwatch.i18n import set_language\nset_language('en')",
]


@pytest.mark.parametrize("source", REFUSED)
def test_the_old_tricks_are_refused(source):
    assert violations(source)


@pytest.mark.parametrize("source", ALLOWED)
def test_public_use_passes(source):
    assert violations(source) == []
