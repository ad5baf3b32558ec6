# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Optional third-party imports, with a message that tells the operator how to fix a missing one.

The crypto libraries live on each managed host, in the venv the ``dvops.charon.python_deps``
role creates; modules run with that interpreter.  Import errors are kept, not raised, so that
a module can report them through ``fail_json`` instead of a traceback.
"""

from __future__ import annotations

import importlib

# import name -> (PyPI distribution, what it is used for)
PACKAGES = {
    "coincurve": ("coincurve", "secp256k1 keys and signatures"),
    "Crypto": ("pycryptodome", "keccak-256"),
    "cryptography": ("cryptography", "pbkdf2, scrypt, AES"),
    "py_arkworks_bls12381": ("py_arkworks_bls12381", "BLS12-381"),
}

INSTALL_HINT = (
    "Install it on the managed host with the dvops.charon.python_deps role and run the module with "
    "that interpreter (ansible_python_interpreter: \"{{ python_deps_venv }}/bin/python\")."
)


class MissingDependency(ImportError):
    """A crypto library is not importable on the managed host."""


def missing_message(import_name, error=None):
    top = import_name.split(".")[0]
    dist, purpose = PACKAGES.get(top, (top, "this module"))
    msg = "The Python package '%s' (%s) is required but cannot be imported" % (dist, purpose)
    if error is not None:
        msg += " (%s)" % error
    return msg + ". " + INSTALL_HINT


def require(import_name):
    """Import ``import_name`` or raise MissingDependency with an actionable message."""
    try:
        return importlib.import_module(import_name)
    except ImportError as exc:
        raise MissingDependency(missing_message(import_name, exc)) from exc


def check_all(import_names=tuple(PACKAGES)):
    """Return the list of messages for the packages that are missing (empty when all import)."""
    problems = []
    for name in import_names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            problems.append(missing_message(name, exc))
    return problems
