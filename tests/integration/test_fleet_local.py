# -*- coding: utf-8 -*-
"""Issue 12, fleet inventories: inventories/fleet-local (cluster_a: 4 node instances, cluster_b: 3, all on this
machine, slots 0-6, one validator each) with a temporary base dir per slot. Real playbooks, modules and native
ceremony. Checked:
- two instances given one slot on one machine are refused before anything is written, naming both;
- enr.yml + dkg.yml in ONE run: both ceremonies side by side, each lock verifies (charon_cluster_info) and holds
  only its own cluster's operators (the ENRs of its instances' keys), 4 and 3;
- a failure in one cluster's ceremony does not abort the other: cluster_b's ceremony redone with b-node3
  crashing after round 1 (FAKE host crash, as in test_dkg_local) fails cluster_b only, without artifacts,
  while cluster_a runs every task to the end with changed=0;
- `--limit cluster_b` runs cluster_b alone (it completes, with a new lock) and leaves cluster_a untouched;
- a second run of dkg.yml on both clusters reports changed=0 on every instance.
The only stand-in is the crashing interpreter (FAKE). Backups run in the first run only (speed).
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest
import yaml

from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _enr
from ansible_collections.dvops.charon.tests.fixtures import playbook_json
from ansible_collections.dvops.charon.plugins.modules import charon_cluster_info

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
A = ["a-node1", "a-node2", "a-node3", "a-node4"]
B = ["b-node1", "b-node2", "b-node3"]
SLOT = dict(zip(A + B, range(7)))
ARTIFACTS = ("cluster-lock.json", "cluster-definition.json", "validator_keys", "deposit-data.json")
NO_BACKUP = {"charon_enr_backup": False, "charon_dkg_backup": False}


def data_dir(tmp, host):
    return str(tmp / "nodes" / ("charon" if SLOT[host] == 0 else "charon-%d" % SLOT[host]) / ".charon")


def inventory(tmp, name="inventory"):
    dest = tmp / name
    shutil.copytree(os.path.join(ROOT, "inventories", "fleet-local"), str(dest))
    return dest


def play(tmp, inv, playbooks=("playbooks/enr.yml", "playbooks/dkg.yml"), extra=None, args=()):
    # The base dir follows the slot, as in the inventory, under the test's directory.
    variables = {"dvops_local_root": ROOT, "charon_backup_dir": str(tmp / "backups"),
                 "charon_base_dir": str(tmp / "nodes") + "/{{ dvops_slot | default(0) | "
                                                         "dvops.charon.slot_value('charon_base_dir') | basename }}"}
    variables.update(extra or {})
    return playbook_json.run(playbooks, inv / "hosts.yml", variables, args=args, timeout=900)


failures = playbook_json.failures


def lock_of(tmp, host):
    return _cluster.load_file(os.path.join(data_dir(tmp, host), "cluster-lock.json"))


def enr_of(tmp, host):
    return _enr.node_record(_enr.load_private_key_file(os.path.join(data_dir(tmp, host), "charon-enr-private-key")))


def snapshot(tmp, hosts):
    """(path, mtime, size) of every file in the hosts' base dirs."""
    out = set()
    for h in hosts:
        base = os.path.dirname(data_dir(tmp, h))
        for root, _dirs, files in os.walk(base):
            for f in files:
                st = os.stat(os.path.join(root, f))
                out.add((os.path.join(root, f), st.st_mtime_ns, st.st_size))
    return out


def test_two_instances_given_one_slot_on_one_machine_are_refused_naming_both(tmp_path):
    inv = inventory(tmp_path, "collide")
    hosts = yaml.safe_load((inv / "hosts.yml").read_text())
    hosts["all"]["children"]["dvops_clusters"]["children"]["cluster_b"]["hosts"]["b-node1"]["dvops_slot"] = 0
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts))
    rc, out = play(tmp_path, inv, ["playbooks/enr.yml"])
    assert rc != 0
    msgs = failures(out)
    mine = [m for m in msgs if m.startswith(("a-node1 ", "b-node1 "))]
    assert len(mine) == 2, msgs
    for m in mine:
        assert "a-node1 and b-node1 on machine localhost share the port 3610 (network_charon_port)" in m, m
        assert "share the directory %s" % os.path.dirname(data_dir(tmp_path, "a-node1")) in m, m
        assert "Give each node instance on a machine its own dvops_slot" in m
    # only the two clashing instances fail, and nothing was written anywhere
    assert sorted(h for h, s in out["stats"].items() if s.get("failures")) == ["a-node1", "b-node1"]
    assert not os.path.exists(str(tmp_path / "nodes" / "charon"))


def test_an_exit_run_over_two_clusters_is_refused_before_anything_is_signed(tmp_path):
    # The exit's combine, epoch check and summary read the play's hosts: one cluster per run (--limit).
    rc, out = play(tmp_path, inventory(tmp_path), ["playbooks/exit.yml"], extra={"dvops_exit_confirm": True})
    assert rc != 0
    msgs = failures(out)
    assert sorted(m.split(" ", 1)[0] for m in msgs) == sorted(A + B), msgs
    for m in msgs:
        assert "Refuse an exit run over more than one cluster" in m, m
        assert "run one cluster at a time: --limit cluster_" in m, m
    signed = [t["task"]["name"] for p in out["plays"] for t in p["tasks"] if "partial exits" in t["task"]["name"]]
    assert signed == [], signed


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fleet")
    inv = inventory(tmp)
    rc, out = play(tmp, inv)
    assert rc == 0, failures(out)
    return {"tmp": tmp, "inv": inv, "first": out, "locks": {h: bytes(lock_of(tmp, h).lock_hash) for h in A + B}}


def test_both_ceremonies_in_one_run_each_lock_verifies_with_only_its_own_operators(fleet):
    tmp = fleet["tmp"]
    for cluster, name in ((A, "fleet-local-a"), (B, "fleet-local-b")):
        hashes = {fleet["locks"][h] for h in cluster}
        assert len(hashes) == 1, cluster
        own = [enr_of(tmp, h) for h in cluster]
        for h in cluster:
            info = charon_cluster_info.inspect(data_dir(tmp, h))
            assert info["valid"], (h, info)
            lock = lock_of(tmp, h)
            assert lock.definition.name == name
            assert [op.enr for op in lock.definition.operators] == own, h
            assert len(lock.distributed_validators) == 1
    assert fleet["locks"]["a-node1"] != fleet["locks"]["b-node1"]
    stats = fleet["first"]["stats"]
    assert sorted(stats) == sorted(A + B) and all(s["changed"] > 0 and not s.get("failures") for s in stats.values())


@pytest.fixture(scope="module")
def b_crashed(fleet):
    """cluster_b's DKG outputs removed, then enr+dkg of both clusters with b-node3 crashing after round 1."""
    tmp, inv = fleet["tmp"], fleet["inv"]
    for h in B:
        for a in ARTIFACTS + ("deposit-data-1eth.json",):
            p = os.path.join(data_dir(tmp, h), a)
            if os.path.isdir(p):
                os.chmod(p, 0o755)
                shutil.rmtree(p)
            elif os.path.lexists(p):
                os.chmod(p, 0o644)
                os.unlink(p)
    a_before = snapshot(tmp, A)
    state = os.path.join(data_dir(tmp, "b-node3"), ".dvops-dkg-state.json")
    crash = tmp / "crashing-python"
    # FAKE host crash (test stand-in): b-node3's modules die like a host gone down once its round-1 state exists.
    crash.write_text("#!/bin/sh\n[ -e '%s' ] && kill -9 $$\nexec '%s' \"$@\"\n" % (state, sys.executable))
    crash.chmod(0o755)
    (inv / "host_vars").mkdir(exist_ok=True)
    (inv / "host_vars" / "b-node3.yml").write_text("python_deps_python: %s\n" % crash)
    try:
        rc, out = play(tmp, inv, extra=NO_BACKUP)
    finally:
        (inv / "host_vars" / "b-node3.yml").unlink()
    return {"rc": rc, "out": out, "a_before": a_before}


def test_a_failure_in_one_clusters_ceremony_does_not_abort_the_other(fleet, b_crashed):
    tmp, out = fleet["tmp"], b_crashed["out"]
    assert b_crashed["rc"] != 0
    msgs = failures(out)
    assert any(m.startswith("b-node3 ") and "round 2" in m for m in msgs), msgs
    assert not [m for m in msgs if m.startswith("a-node")], msgs
    for h in A:
        assert out["stats"][h]["changed"] == 0 and not out["stats"][h].get("failures"), (h, out["stats"][h])
    # cluster_a ran to the end: its summary was printed in the same run
    summaries = [r.get("msg") for p in out["plays"] for t in p["tasks"] if t["task"]["name"].endswith(" : Summary")
                 for h, r in t["hosts"].items() if h in A and not r.get("skipped")]
    assert summaries and "fleet-local-a" in str(summaries)
    assert snapshot(tmp, A) == b_crashed["a_before"]
    # no keys, lock or deposit data on any of cluster_b's instances (prepare's cluster-definition.json stays,
    # as after any aborted ceremony: test_dkg_local)
    for h in B:
        assert [a for a in ARTIFACTS[:1] + ARTIFACTS[2:] if os.path.exists(os.path.join(data_dir(tmp, h), a))] == [], h


def test_limit_one_cluster_runs_it_alone_and_leaves_the_other_untouched(fleet, b_crashed):
    tmp = fleet["tmp"]
    a_before = snapshot(tmp, A)
    rc, out = play(tmp, fleet["inv"], ["playbooks/dkg.yml"], NO_BACKUP, ["--limit", "cluster_b"])
    assert rc == 0, failures(out)
    assert sorted(out["stats"]) == sorted(B)
    assert all(out["stats"][h]["changed"] > 0 for h in B)
    assert snapshot(tmp, A) == a_before
    new = {bytes(lock_of(tmp, h).lock_hash) for h in B}
    assert len(new) == 1 and new != {fleet["locks"]["b-node1"]}
    for h in B:
        assert charon_cluster_info.inspect(data_dir(tmp, h))["valid"]
    fleet["limited"] = True


def test_a_second_full_run_changes_nothing(fleet, b_crashed):
    if not fleet.get("limited"):
        pytest.skip("needs the --limit run before it")
    tmp = fleet["tmp"]
    before = snapshot(tmp, A + B)
    # dkg.yml only (speed): enr.yml's rerun was part of the run that crashed cluster_b (cluster_a changed=0 there).
    rc, out = play(tmp, fleet["inv"], ["playbooks/dkg.yml"], NO_BACKUP)
    assert rc == 0, failures(out)
    assert {h: s["changed"] for h, s in out["stats"].items()} == {h: 0 for h in A + B}
    assert snapshot(tmp, A + B) == before
