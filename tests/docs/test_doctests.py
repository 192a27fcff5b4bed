"""Every module's doctests run, and every public function and class shows a runnable example.

"Public" means: the names a module lists in ``__all__`` (or, without ``__all__``, the functions
and classes it defines whose names do not start with ``_``), plus the public methods those
classes define.  Each needs a numpydoc docstring with an ``Examples`` section holding at least
one ``>>>`` line; properties need a docstring.  Exception and warning classes need a docstring.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import os
import pkgutil

import pytest

import gbvstats

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules() -> list[str]:
    names = ["gbvstats"]
    for info in pkgutil.walk_packages(gbvstats.__path__, "gbvstats."):
        names.append(info.name)
    return sorted(names)


MODULES = _modules()
# The CLI's subcommand modules are documented by docs/cli.md (generated from the parser).
API_MODULES = [m for m in MODULES if ".commands" not in m and m != "gbvstats.cli"]


def _public_items(module_name: str):
    mod = importlib.import_module(module_name)
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [
            n for n, o in vars(mod).items()
            if not n.startswith("_") and (inspect.isfunction(o) or inspect.isclass(o))
            and getattr(o, "__module__", None) == module_name
        ]
    for name in names:
        obj = getattr(mod, name)
        if getattr(obj, "__module__", None) != module_name:
            continue  # re-exported: checked where it is defined
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        yield name, obj, "object"
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(value, property):
                    yield f"{name}.{attr}", value.fget, "property"
                    continue
                func = getattr(value, "__func__", value)
                if inspect.isfunction(func):
                    yield f"{name}.{attr}", func, "object"


@pytest.mark.parametrize("module_name", MODULES)
def test_module_doctests_pass(module_name, tmp_path, monkeypatch):
    # Examples run from the project root (they read surveys/example/...) and may write to a
    # scratch folder given by $GBVSTATS_DOCTEST_TMP.
    root = os.path.dirname(os.path.dirname(gbvstats.__file__))
    monkeypatch.chdir(root)
    monkeypatch.setenv("GBVSTATS_DOCTEST_TMP", str(tmp_path))
    mod = importlib.import_module(module_name)
    result = doctest.testmod(mod, optionflags=OPTIONS, report=True, verbose=False)
    assert result.failed == 0, f"{module_name}: {result.failed} of {result.attempted} doctest examples failed"


@pytest.mark.parametrize("module_name", API_MODULES)
def test_public_api_has_runnable_examples(module_name):
    missing = []
    for qualname, obj, kind in _public_items(module_name):
        doc = inspect.getdoc(obj) or ""
        if not doc.strip():
            missing.append(f"{qualname} (no docstring)")
            continue
        if kind == "property":
            continue
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            continue
        if "Examples" not in doc or ">>>" not in doc:
            missing.append(f"{qualname} (no Examples section with >>>)")
    assert not missing, f"{module_name}: " + "; ".join(missing)
