# -*- coding: utf-8 -*-
"""pytest plugin of the mutation runner (``-p plugin``): loads one mutated module before any test.

``DVOPS_MUTANT_MODULE`` is the dotted module name, ``DVOPS_MUTANT_SOURCE`` a file holding its
mutated source.  The module is executed from that text under its real file name and put in
``sys.modules`` first, so every later import (tests, other module_utils) gets the mutant; the
checkout itself is never modified.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys


def _install(name, source_path):
    parent_name, dummy, child = name.rpartition(".")
    parent = importlib.import_module(parent_name)
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        raise RuntimeError("mutation plugin: cannot find module %s" % name)
    with open(source_path, "rb") as f:
        source = f.read()
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        exec(compile(source, spec.origin, "exec"), module.__dict__)  # pylint: disable=exec-used
    except BaseException:
        del sys.modules[name]
        raise
    setattr(parent, child, module)


if os.environ.get("DVOPS_MUTANT_MODULE"):
    _install(os.environ["DVOPS_MUTANT_MODULE"], os.environ["DVOPS_MUTANT_SOURCE"])


# Line tracing of the unmutated run (``DVOPS_TRACE_FILE`` = real path of the target file,
# ``DVOPS_TRACE_OUT`` = where to write the JSON): which test executes which line of the target,
# so that each mutant runs only the tests that reach it.  Lines run while a test is set up or torn
# down (fixtures, often shared by the whole module) count for every test of that file.
if os.environ.get("DVOPS_TRACE_FILE"):
    import json
    import threading

    import pytest

    _TARGET = os.environ["DVOPS_TRACE_FILE"]
    _REAL = {}
    _LINES = {}        # context -> set(lines)
    _ITEMS = []
    _CONTEXT = ["collect"]

    def _is_target(filename):
        real = _REAL.get(filename)
        if real is None:
            real = _REAL[filename] = os.path.realpath(filename)
        return real == _TARGET

    def _local(frame, event, arg):
        if event == "line":
            _LINES.setdefault(_CONTEXT[0], set()).add(frame.f_lineno)
        return _local

    def _global(frame, event, arg):
        if event == "call" and _is_target(frame.f_code.co_filename):
            _LINES.setdefault(_CONTEXT[0], set()).add(frame.f_code.co_firstlineno)
            return _local
        return None

    sys.settrace(_global)
    threading.settrace(_global)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(items):
        _ITEMS[:] = [item.nodeid for item in items]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(item):
        _CONTEXT[0] = "setup:" + item.nodeid.split("::")[0]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(item):
        _CONTEXT[0] = "call:" + item.nodeid

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(item):
        _CONTEXT[0] = "setup:" + item.nodeid.split("::")[0]

    def pytest_sessionfinish(session):
        sys.settrace(None)
        with open(os.environ["DVOPS_TRACE_OUT"], "w") as f:
            json.dump({"items": _ITEMS, "lines": dict((k, sorted(v)) for k, v in _LINES.items())}, f)
