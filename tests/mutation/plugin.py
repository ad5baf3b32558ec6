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
