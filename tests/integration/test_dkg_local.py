# -*- coding: utf-8 -*-
"""playbooks/enr.yml + playbooks/dkg.yml (native ceremony) on a copy of the local inventory, four nodes on
this machine with a temporary base dir: artifacts verify, one lock hash, any 3 of 4 key shares rebuild each
validator key and 2 do not, a rerun changes nothing; a host that goes down after round 1 aborts the
ceremony everywhere without artifacts, and the next run completes.

The only stand-in is the "crashing host" of the abort test: node3's module interpreter is a wrapper that
dies (SIGKILL) once node3's round-1 state exists - a host that goes down in the middle of the ceremony.
"""

from __future__ import annotations

import itertools
import os
import shutil
import stat
import sys

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _cluster, _keystore
from ansible_collections.dvops.charon.tests.fixtures import playbook_json

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NODES = ["node1", "node2", "node3", "node4"]
ARTIFACTS = ("cluster-lock.json", "validator_keys", "deposit-data.json", "deposit-data-1eth.json")


def play(tmp, inventory, extra=None, playbooks=("playbooks/enr.yml", "playbooks/dkg.yml")):
    variables = {"dvops_local_root": ROOT, "charon_base_dir": str(tmp) + "/{{ inventory_hostname }}",
                 "charon_backup_dir": str(tmp / "backups")}
    variables.update(extra or {})
    return playbook_json.run(playbooks, inventory, variables)


_failures = playbook_json.failures


def _inventory_copy(tmp):
    dest = tmp / "inventory"
    shutil.copytree(os.path.join(ROOT, "inventories", "local"), str(dest))
    return str(dest / "hosts.yml")


def _data_dir(tmp, node):
    return os.path.join(str(tmp), node, ".charon")


@pytest.fixture(scope="module")
def ceremony(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dkg")
    inventory = _inventory_copy(tmp)
    rc, out = play(tmp, inventory)
    assert rc == 0, _failures(out)
    return tmp, inventory, out


def test_every_node_holds_a_verified_lock_with_one_hash(ceremony):
    tmp = ceremony[0]
    hashes = set()
    for node in NODES:
        d = _data_dir(tmp, node)
        lock = _cluster.load_file(os.path.join(d, "cluster-lock.json"))
        report = _cluster.verify_lock(lock)
        assert report.valid, report.as_dict()
        assert lock.definition.dkg_algorithm == "frost"  # charon's name for the algorithm (add-validators reads it)
        hashes.add(bytes(lock.lock_hash))
        assert stat.S_IMODE(os.stat(os.path.join(d, "cluster-lock.json")).st_mode) == 0o444
        assert stat.S_IMODE(os.stat(os.path.join(d, "cluster-definition.json")).st_mode) == 0o444
        assert stat.S_IMODE(os.stat(os.path.join(d, "deposit-data.json")).st_mode) == 0o444
        assert stat.S_IMODE(os.stat(os.path.join(d, "validator_keys", "keystore-0.json")).st_mode) == 0o444
        assert stat.S_IMODE(os.stat(os.path.join(d, "validator_keys", "keystore-0.txt")).st_mode) == 0o400
        assert not os.path.exists(os.path.join(d, ".dvops-dkg-state.json"))
        assert not os.path.exists(os.path.join(d, ".dvops-dkg-tmp"))
        assert os.path.exists(os.path.join(str(tmp), "backups", node, "validator_keys.vault"))
    assert len(hashes) == 1
    deposit = [open(os.path.join(_data_dir(tmp, n), "deposit-data.json"), "rb").read() for n in NODES]
    assert len(set(deposit)) == 1


def test_any_three_shares_rebuild_each_key_two_do_not(ceremony):
    tmp = ceremony[0]
    lock = _cluster.load_file(os.path.join(_data_dir(tmp, "node1"), "cluster-lock.json"))
    index = {}
    for node in NODES:
        own = _cluster.load_file(os.path.join(_data_dir(tmp, node), "cluster-lock.json"))
        keys = _keystore.load_keystores(os.path.join(_data_dir(tmp, node), "validator_keys"))
        pub0 = keys[0][2]
        k = [bytes(s) for s in own.distributed_validators[0].public_shares].index(pub0)
        index[k + 1] = [int.from_bytes(secret, "big") for dummy, secret, dummy2 in keys]
    assert sorted(index) == [1, 2, 3, 4]
    for v, dv in enumerate(lock.distributed_validators):
        for subset in itertools.combinations(sorted(index), 3):
            sk = _bls.interpolate_scalars({x: index[x][v] for x in subset})
            assert _bls.secret_to_public(sk) == bytes(dv.distributed_public_key)
        for subset in itertools.combinations(sorted(index), 2):
            sk = _bls.interpolate_scalars({x: index[x][v] for x in subset})
            assert _bls.secret_to_public(sk) != bytes(dv.distributed_public_key)


def test_rerun_changes_nothing(ceremony):
    tmp, inventory = ceremony[:2]
    before = {n: os.stat(os.path.join(_data_dir(tmp, n), "cluster-lock.json")).st_mtime for n in NODES}
    rc, out = play(tmp, inventory)
    assert rc == 0, _failures(out)
    assert set(s["changed"] for s in out["stats"].values()) == {0}
    assert before == {n: os.stat(os.path.join(_data_dir(tmp, n), "cluster-lock.json")).st_mtime for n in NODES}


def test_host_down_after_round1_aborts_everywhere_then_rerun_completes(tmp_path):
    inventory = _inventory_copy(tmp_path)
    state = os.path.join(_data_dir(tmp_path, "node3"), ".dvops-dkg-state.json")
    crash = tmp_path / "crashing-python"
    # FAKE host crash (test stand-in): node3's modules die like a host gone down once its round-1 state exists.
    crash.write_text("#!/bin/sh\n[ -e '%s' ] && kill -9 $$\nexec '%s' \"$@\"\n" % (state, sys.executable))
    crash.chmod(0o755)
    hv = tmp_path / "inventory" / "host_vars"
    hv.mkdir(exist_ok=True)
    (hv / "node3.yml").write_text("python_deps_python: %s\n" % crash)
    rc, out = play(tmp_path, inventory)
    assert rc != 0
    failures = _failures(out)
    assert any("node3" in f and "round 2" in f for f in failures), failures
    # The others stop there too (any_errors_fatal) or fail round 3 for want of node3's message.
    for node in NODES:
        d = _data_dir(tmp_path, node)
        assert [a for a in ARTIFACTS if os.path.exists(os.path.join(d, a))] == [], node
        assert not os.path.exists(os.path.join(d, ".dvops-dkg-tmp"))
        if node != "node3":
            assert not os.path.exists(os.path.join(d, ".dvops-dkg-state.json")), (node, failures)

    (hv / "node3.yml").unlink()  # the host is back
    rc, out = play(tmp_path, inventory)
    assert rc == 0, _failures(out)
    assert not os.path.exists(state)
    hashes = {bytes(_cluster.load_file(os.path.join(_data_dir(tmp_path, n), "cluster-lock.json")).lock_hash)
              for n in NODES}
    assert len(hashes) == 1
