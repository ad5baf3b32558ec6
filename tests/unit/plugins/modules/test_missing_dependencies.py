# -*- coding: utf-8 -*-
"""With the crypto libraries really absent, every plugin still imports and every module that needs
one fails with _deps' message (which package, what for, how to install it), before touching the disk.

This is what keeps the module_utils imports at the top of each file safe: a third-party library is
only ever imported through ``_deps.require`` at run time, never at import time. The libraries are
blocked in a child interpreter by an import hook (nothing is faked: the imports really fail there)."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _deps
from ansible_collections.dvops.charon.plugins.modules import charon_enr

# .../ansible_collections/dvops/charon/plugins/modules/charon_enr.py -> the collections root
COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(charon_enr.__file__), *[".."] * 5))
PLUGINS = os.path.join(COLLECTIONS_ROOT, "ansible_collections", "dvops", "charon", "plugins")

CHILD = r'''
import importlib, importlib.abc, io, json, sys

BLOCKED = set(json.loads(sys.argv[1]))


class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("No module named %r (blocked by the test)" % name)
        return None


sys.meta_path.insert(0, Block())
from ansible.module_utils.testing import patch_module_args

out = {"imported": [], "runs": []}
for name in json.loads(sys.argv[2]):
    importlib.import_module(name)  # an ImportError here fails the child, and the test
    out["imported"].append(name)
for module, args in json.loads(sys.argv[3]):
    mod = importlib.import_module("ansible_collections.dvops.charon.plugins.modules." + module)
    real, sys.stdout = sys.stdout, io.StringIO()
    try:
        with patch_module_args(args):
            try:
                mod.main()
            except SystemExit:
                pass
    finally:
        text, sys.stdout = sys.stdout.getvalue(), real
    out["runs"].append(json.loads(text))
print(json.dumps(out))
'''


def _plugin_names():
    names = []
    for kind in ("module_utils", "modules", "filter", "action"):
        for path in sorted(glob.glob(os.path.join(PLUGINS, kind, "*.py"))):
            base = os.path.basename(path)[:-3]
            if base != "__init__":
                names.append("ansible_collections.dvops.charon.plugins.%s.%s" % (kind, base))
    return names


@pytest.fixture(scope="module")
def without_crypto(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nodeps")
    uid, gid = str(os.getuid()), str(os.getgid())
    lock = tmp / "cluster-lock.json"
    lock.write_text("{}")
    src = tmp / "src"
    src.mkdir()
    runs = [
        ("charon_enr", {"data_dir": str(tmp / "enr"), "owner": uid, "group": gid}),
        ("charon_cluster_info", {"path": str(lock)}),
        ("charon_dkg", {"phase": "status", "data_dir": str(tmp / "dkg"), "owner": uid, "group": gid}),
        ("charon_backup", {"paths": [str(src)], "root": str(tmp), "dest": "/backups/n", "name": "t",
                           "recipient": "11" * 32}),
        ("dv_exit", {"data_dir": str(tmp / "exit"), "_ansible_check_mode": True}),
    ]
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(sorted(_deps.PACKAGES)),
                           json.dumps(_plugin_names()), json.dumps(runs)],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    return tmp, dict((name, res) for (name, _args), res in zip(runs, out["runs"])), out["imported"]


def test_every_plugin_imports_without_the_crypto_libraries(without_crypto):
    imported = without_crypto[2]
    assert imported == _plugin_names()
    assert len([n for n in imported if ".modules." in n]) >= 7 and len([n for n in imported if "_utils." in n]) >= 20


def _prefix(import_name):
    return _deps.missing_message(import_name).split(" is required")[0] + " is required but cannot be imported ("


@pytest.mark.parametrize("module,first", [("charon_enr", "coincurve"), ("charon_cluster_info", "coincurve"),
                                          ("charon_backup", "cryptography"), ("dv_exit", "py_arkworks_bls12381")])
def test_module_names_the_missing_library(without_crypto, module, first):
    res = without_crypto[1][module]
    assert res.get("failed") and res["msg"].startswith(_prefix(first)), res
    assert "blocked by the test" in res["msg"] and _deps.INSTALL_HINT in res["msg"]
    assert "Traceback" not in json.dumps(res)


def test_dkg_names_every_missing_library_before_touching_the_disk(without_crypto):
    tmp, results = without_crypto[0], without_crypto[1]
    msg = results["charon_dkg"]["msg"]
    assert results["charon_dkg"]["failed"]
    for name in _deps.PACKAGES:
        assert _prefix(name) in msg, (name, msg)
    assert not (tmp / "dkg").exists() and not (tmp / "enr").exists()
