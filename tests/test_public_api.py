"""The public API: every package re-exports its public names, every public
module, function and class says what it does, and the tests themselves use
public names only."""

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import nmmjax

ROOT = Path(__file__).resolve().parents[1]


def _public_modules():
    names = []
    for m in pkgutil.walk_packages(nmmjax.__path__, "nmmjax."):
        if not any(part.startswith("_") for part in m.name.split(".")[1:]):
            names.append(m.name)
    return ["nmmjax", *names]


PUBLIC = _public_modules()


def test_every_package_is_walked():
    for name in ("nmmjax.engine", "nmmjax.checkpoint", "nmmjax.protocols", "nmmjax.search",
                 "nmmjax.search.nsga2", "nmmjax.inference.hawkes", "nmmjax.tasks.correlation",
                 "nmmjax.networks.hopfield"):
        assert name in PUBLIC


@pytest.mark.parametrize("name", [n for n in PUBLIC
                                  if hasattr(importlib.import_module(n), "__path__")])
def test_packages_re_export_their_public_names(name):
    pkg = importlib.import_module(name)
    assert pkg.__all__, name
    for attr in pkg.__all__:
        assert getattr(pkg, attr) is not None, f"{name}.{attr}"
    # every public submodule is reachable from its package
    for m in pkgutil.iter_modules(pkg.__path__):
        if not m.name.startswith("_"):
            assert m.name in pkg.__all__, f"{name} does not export {m.name}"


@pytest.mark.parametrize("name", PUBLIC)
def test_public_names_have_docstrings(name):
    mod = importlib.import_module(name)
    assert inspect.getdoc(mod), f"module {name} has no docstring"
    missing = []
    # the names a module exports (re-exported from private modules included),
    # or else the public ones it defines
    names = getattr(mod, "__all__", None) or [
        a for a, v in vars(mod).items() if getattr(v, "__module__", None) == name]
    for attr in names:
        value = getattr(mod, attr)
        if attr.startswith("_") or inspect.ismodule(value):
            continue
        if inspect.isclass(value):
            if value.__doc__ is None or not value.__doc__.strip():
                missing.append(attr)
        elif inspect.isfunction(value) and not inspect.getdoc(value):
            missing.append(attr)
    assert not missing, f"{name}: public names without a docstring: {missing}"


def _private_uses(path: Path) -> list[str]:
    """``alias._name`` where ``alias`` is an nmmjax module imported by ``path``."""
    tree = ast.parse(path.read_text())
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nmmjax"):
            aliases |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            aliases |= {(a.asname or a.name).split(".")[0] for a in node.names
                        if a.name.startswith("nmmjax")}
    return [f"{path.name}:{node.lineno} {node.value.id}.{node.attr}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in aliases and node.attr.startswith("_")
            and not node.attr.startswith("__") and node.attr not in ("_replace", "_fields")]


def test_tests_use_public_names_only():
    uses = [u for p in sorted((ROOT / "tests").glob("test_*.py")) for u in _private_uses(p)]
    assert not uses, uses
