# -*- coding: utf-8 -*-
"""Two runs of playbooks/dkg.yml at once on the same four local nodes (real ceremony, real modules):
no run is broken by the other in the middle of the ceremony ("own round-1 message was replaced in
transit" before the lock); a run that meets the other one's lock says plainly that another run is in
progress, its cleanup leaves the other run's state alone, and the data dirs end up with one verified
lock (or, if the two runs split the hosts between them, with nothing, and the next run completes).
Then a run killed in the middle (FAKE: SIGKILL to ansible-playbook itself) leaves its lease, which the
next run from this controller takes over at once because the killed playbook process is gone."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

from ansible_collections.dvops.charon.plugins.module_utils import _cluster

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NODES = ["node1", "node2", "node3", "node4"]


def _cmd(tmp, playbooks, extra=None):
    variables = {"dvops_local_root": ROOT, "charon_base_dir": str(tmp) + "/{{ inventory_hostname }}",
                 "charon_dkg_backup": False, "dvops_num_validators": 2}
    variables.update(extra or {})
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    inventory = str(tmp / "inventory" / "hosts.yml")
    return ([os.path.join(os.path.dirname(sys.executable), "ansible-playbook")] + list(playbooks)
            + ["-i", inventory, "-e", json.dumps(variables)], env)


def _start(tmp, playbooks, log):
    cmd, env = _cmd(tmp, playbooks)
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(str(log), "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _run(tmp, playbooks, log):
    proc = _start(tmp, playbooks, log)
    rc = proc.wait(timeout=600)
    return rc, open(str(log)).read()


def _leftovers(tmp):
    out = []
    for node in NODES:
        d = os.path.join(str(tmp), node, ".charon")
        out += [os.path.join(d, n) for n in (".dvops-dkg-state.json", ".dvops-dkg-tmp") if os.path.lexists(os.path.join(d, n))]
    return out


def _one_verified_lock(tmp):
    hashes = set()
    for node in NODES:
        lock = _cluster.load_file(os.path.join(str(tmp), node, ".charon", "cluster-lock.json"))
        assert _cluster.verify_lock(lock).valid
        hashes.add(bytes(lock.lock_hash))
    return len(hashes) == 1


def test_two_runs_at_once_then_a_killed_run(tmp_path):
    shutil.copytree(os.path.join(ROOT, "inventories", "local"), str(tmp_path / "inventory"))
    rc, out = _run(tmp_path, ["playbooks/enr.yml"], tmp_path / "enr.log")
    assert rc == 0, out[-3000:]

    a = _start(tmp_path, ["playbooks/dkg.yml"], tmp_path / "a.log")
    b = _start(tmp_path, ["playbooks/dkg.yml"], tmp_path / "b.log")
    rcs = [a.wait(timeout=600), b.wait(timeout=600)]
    logs = [open(str(tmp_path / n)).read() for n in ("a.log", "b.log")]
    both = "\n".join(logs)
    assert "replaced in transit" not in both, both[-6000:]
    assert "another DKG run is in progress" in both, both[-6000:]
    for rc, log in zip(rcs, logs):
        if rc != 0:
            assert "another DKG run is in progress" in log, log[-4000:]
    assert _leftovers(tmp_path) == []
    if 0 in rcs:
        assert _one_verified_lock(tmp_path)
    else:
        # The two runs took the hosts' locks in different orders and both stopped: nothing was written,
        # and the next run completes.
        assert not os.path.exists(os.path.join(str(tmp_path), "node1", ".charon", "cluster-lock.json"))
        rc, out = _run(tmp_path, ["playbooks/dkg.yml"], tmp_path / "c.log")
        assert rc == 0, out[-4000:]
        assert _one_verified_lock(tmp_path)


def test_a_killed_run_does_not_block_the_next_one(tmp_path):
    shutil.copytree(os.path.join(ROOT, "inventories", "local"), str(tmp_path / "inventory"))
    rc, out = _run(tmp_path, ["playbooks/enr.yml"], tmp_path / "enr.log")
    assert rc == 0, out[-3000:]
    # FAKE operator interruption: kill ansible-playbook (and its workers) once round 1 has run somewhere.
    proc = _start(tmp_path, ["playbooks/dkg.yml"], tmp_path / "killed.log")
    states = [os.path.join(str(tmp_path), n, ".charon", ".dvops-dkg-state.json") for n in NODES]
    deadline = time.time() + 300
    while not any(os.path.exists(s) for s in states):
        assert proc.poll() is None and time.time() < deadline, open(str(tmp_path / "killed.log")).read()[-3000:]
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    time.sleep(1)  # modules still running in their own sessions end
    leases = [os.path.join(str(tmp_path), n, ".charon", ".dvops-dkg.lock") for n in NODES]
    assert any(os.path.exists(p) for p in leases)
    rc, out = _run(tmp_path, ["playbooks/dkg.yml"], tmp_path / "next.log")
    assert rc == 0, out[-5000:]
    assert "whose playbook process no longer runs" in out
    assert _one_verified_lock(tmp_path)
    assert _leftovers(tmp_path) == [] and not any(os.path.exists(p) for p in leases)
