# -*- coding: utf-8 -*-
"""Tests that kill charon_cluster_info's surviving refusal mutants (issue 10): a missing library and a
custom network that shadows a real one are named failures, not a traceback or a silent pass."""

from __future__ import annotations

from ansible_collections.dvops.charon.plugins.module_utils import _deps
from ansible_collections.dvops.charon.plugins.modules import charon_cluster_info
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster
from ansible_collections.dvops.charon.tests.unit.plugins.modules.test_charon_cluster_info import run


def _lock_file(tmp_path):
    path = tmp_path / "cluster-lock.json"
    path.write_bytes(build_cluster(seed=b"info-mutants", n=3).lock_json)
    return str(path)


def test_missing_library_is_named(tmp_path, capsys, monkeypatch):
    path = _lock_file(tmp_path)
    real = _deps.require

    def no_arkworks(name):
        if name == "py_arkworks_bls12381":
            raise _deps.MissingDependency("py_arkworks_bls12381 is missing (FAKE, for this test)")
        return real(name)
    monkeypatch.setattr(charon_cluster_info._deps, "require", no_arkworks)
    res = run(capsys, path=path)
    assert res["failed"] and res["msg"] == "py_arkworks_bls12381 is missing (FAKE, for this test)"
    assert "checks" not in res


def test_missing_library_during_inspection_is_named(tmp_path, capsys, monkeypatch):
    path = _lock_file(tmp_path)

    def missing(*args, **kwargs):
        raise _deps.MissingDependency("a library is missing (FAKE, for this test)")
    monkeypatch.setattr(charon_cluster_info, "inspect", missing)
    res = run(capsys, path=path)
    assert res["failed"] and res["msg"] == "a library is missing (FAKE, for this test)"


def test_custom_network_cannot_shadow_a_builtin(tmp_path, capsys):
    path = _lock_file(tmp_path)
    res = run(capsys, path=path, custom_network={"name": "mainnet", "chain_id": 1, "genesis_fork_version": "0x00000000",
                                                 "capella_fork_version": "0x03000000", "genesis_time": 1})
    assert res["failed"] and res["msg"].startswith("custom_network: custom network 'mainnet' clashes with the built-in")
    assert "checks" not in res
