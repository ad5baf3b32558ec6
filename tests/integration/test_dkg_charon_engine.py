# -*- coding: utf-8 -*-
"""playbooks/dkg.yml with dvops_dkg_engine=charon on four local nodes and a given (signed) definition file.

The charon image cannot be pulled here, so `charon dkg` is a FAKE: tests/integration/fake_charon_dkg.py
stands in for it and writes, into the --data-dir it is given, the artifacts a trusted-dealer fixture
(tests/fixtures/cluster_factory.py) made for that node's key. Everything after it is real: the staged
data dir, the verification of charon's output, the move into place, charon_cluster_info, the lock-hash
agreement, the vault backup, and a rerun that changes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _cluster
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster, write_node_dirs
from ansible_collections.dvops.charon.tests.integration.test_dkg_local import ROOT, _failures, play

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_charon_dkg.py")


def _charon_engine_inventory(tmp_path, c, extra_vars):
    """Four local hosts, each with its ENR key from cluster ``c``, the definition file, and an inventory
    of the charon engine with ``extra_vars``; returns (inventory path, hosts)."""
    fixture = write_node_dirs(c, tmp_path / "fixture")
    definition = tmp_path / "cluster-definition.json"
    definition.write_bytes(c.definition_json)
    hosts = {}
    for i in range(4):
        data_dir = tmp_path / "hosts" / ("node%d" % (i + 1)) / ".charon"
        data_dir.mkdir(parents=True)
        shutil.copy(os.path.join(fixture[i], "charon-enr-private-key"), str(data_dir))
        hosts["node%d" % (i + 1)] = {"charon_data_dir": str(data_dir), "charon_base_dir": str(data_dir.parent)}
    inv_vars = {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "python_deps_python": sys.executable, "charon_uid": os.getuid(), "charon_gid": os.getgid(),
        "dvops_dkg_engine": "charon", "dvops_definition_file": str(definition)}
    inv_vars.update(extra_vars)
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps({"all": {"children": {"dvops_cluster": {"hosts": hosts, "vars": inv_vars}}}}))
    return str(inventory), hosts


def test_charon_engine_with_a_fake_charon(tmp_path):
    c = build_cluster(seed=b"charon engine", n=4, num_validators=2)
    inventory, hosts = _charon_engine_inventory(tmp_path, c, {
        "charon_dkg_charon_command": [sys.executable, FAKE, str(tmp_path / "fixture")],
        # TEST VALUE, NOT A SECRET
        "charon_backup_vault_password": "dvops-test-vault-password-not-secret-{{ inventory_hostname }}"})

    rc, out = play(tmp_path, inventory, {"charon_backup_dir": str(tmp_path / "backups")},
                   playbooks=("playbooks/dkg.yml",))
    assert rc == 0, _failures(out)
    for i in range(4):
        d = hosts["node%d" % (i + 1)]["charon_data_dir"]
        lock = _cluster.load_file(os.path.join(d, "cluster-lock.json"))
        assert bytes(lock.lock_hash) == bytes(c.lock.lock_hash)
        assert open(os.path.join(d, "cluster-definition.json"), "rb").read() == c.definition_json
        assert sorted(os.listdir(os.path.join(d, "validator_keys"))) == [
            "keystore-0.json", "keystore-0.txt", "keystore-1.json", "keystore-1.txt"]
        assert not os.path.exists(os.path.join(d, ".dvops-dkg-tmp"))
        # the stage's hard link is gone; the key is intact
        assert os.stat(os.path.join(d, "charon-enr-private-key")).st_nlink == 1
    calls = open(str(tmp_path / "fixture" / "calls.log")).read().split("\n")
    assert len([x for x in calls if x]) == 4 and all("--p2p-relays" in x for x in calls if x)
    # ERC-1271 checks: the stack's execution client (geth's published RPC port on the host) by default.
    assert all("--execution-client-rpc-endpoint http://127.0.0.1:8545" in x for x in calls if x), calls

    rc, out = play(tmp_path, inventory, {"charon_backup_dir": str(tmp_path / "backups")},
                   playbooks=("playbooks/dkg.yml",))
    assert rc == 0, _failures(out)
    assert set(s["changed"] for s in out["stats"].values()) == {0}
    assert ROOT


@pytest.mark.parametrize("program, cause, fix", [
    ("no-such-charon", "no-such-charon is not installed on this host", "point charon_dkg_charon_command"),
    # a program that runs and fails (rc 1, no output): the cause is its exit, the fix is about the ceremony
    ("/bin/false", "non-zero return code", "every operator online"),
])
def test_charon_engine_failure_names_the_cause(tmp_path, program, cause, fix):
    # No FAKE: the configured program does not exist, or fails. The message says so and how to fix it, not
    # "Error executing command. ." and "run the play again" for everything.
    c = build_cluster(seed=b"charon engine missing", n=4, num_validators=1)
    inventory, hosts = _charon_engine_inventory(tmp_path, c, {
        "charon_dkg_charon_command": [program if program.startswith("/") else str(tmp_path / program)],
        "charon_dkg_backup": False})
    rc, out = play(tmp_path, inventory, {}, playbooks=("playbooks/dkg.yml",))
    assert rc != 0
    msgs = [m for m in _failures(out) if "Report the aborted ceremony" in m]
    assert len(msgs) == 4, _failures(out)
    for m in msgs:
        assert cause in m and fix in m, m
        assert "Error executing command. ." not in m
        assert ("run the play again" in m) == (program == "/bin/false"), m
    for h in hosts.values():
        assert sorted(os.listdir(h["charon_data_dir"])) == ["charon-enr-private-key", "cluster-definition.json"]
