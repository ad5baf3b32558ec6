# -*- coding: utf-8 -*-
"""dvops_dkg_engine=charon for real: playbooks/enr.yml + playbooks/dkg.yml on a copy of inventories/local (four
nodes on this machine) run the REAL `charon dkg` of the image obolnetwork/charon:v1.10.3 through the role's
production path (roles/charon/tasks/dkg_charon.yml: `docker run` of the image, default network "host"), meeting
through a REAL local `charon relay` (the v1.10.3 binary on 127.0.0.1, started and stopped by the test). No
stand-in: the FAKE `charon dkg` stays in test_dkg_charon_engine.py for the fast path only.

Checked: the rendered argv (image from charon_image:charon_version, --network host, --execution-client-rpc-endpoint
of each node's geth port: the real charon accepts the flag), every container reached the relay and its three
peers, charon_cluster_info verifies every data dir (full verification), one lock hash, a rerun changes nothing;
then the four nodes `charon run` on that lock (real binary, --simnet-beacon-mock --simnet-validator-mock, loopback,
bounded) and every /readyz answers 200 with duties submitted.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from datetime import datetime

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.dvops.charon.plugins.module_utils import _cluster
from ansible_collections.dvops.charon.plugins.modules import charon_cluster_info
from ansible_collections.dvops.charon.tests.fixtures.programs import pinned_version
from ansible_collections.dvops.charon.tests.integration.test_dkg_local import NODES, _failures, _inventory_copy, play
from ansible_collections.dvops.charon.tests.integration.test_real_charon_crosscheck import (
    ANSI_RE, charon_bin, free_port, local_relay)

IMAGE = "obolnetwork/charon:%s" % pinned_version("charon")


def need_image():
    proc = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip("the image %s is not built here (tests/testbed builds it): %s" % (IMAGE, proc.stderr.strip()))


def info(capsys, path):
    with patch_module_args({"path": path, "fail_on_error": False}):
        with pytest.raises(SystemExit):
            charon_cluster_info.main()
    return json.loads(capsys.readouterr().out)


def task_results(out, name):
    for p in out["plays"]:
        for t in p["tasks"]:
            if t["task"]["name"].split(" : ")[-1] == name:
                return t
    raise AssertionError("no task %r ran: %s" % (name, [t["task"]["name"] for p in out["plays"] for t in p["tasks"]]))


def seconds(task):
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    d = task["task"]["duration"]
    return (datetime.strptime(d["end"], fmt) - datetime.strptime(d["start"], fmt)).total_seconds()


def charon_run_nodes(tmp, data_dirs, relay, bound=90):
    """`charon run` of every node (real binary, simnet mocks, loopback); yields (procs, monitoring ports)."""
    procs, ports = [], []
    for k, d in enumerate(data_dirs):
        p2p, vapi, mon = free_port(), free_port(), free_port()
        log = open(os.path.join(str(tmp), "run-%d.log" % k), "w")
        procs.append((subprocess.Popen(
            ["timeout", str(bound), charon_bin(), "run", "--lock-file", os.path.join(d, "cluster-lock.json"),
             "--private-key-file", os.path.join(d, "charon-enr-private-key"), "--simnet-beacon-mock",
             "--simnet-validator-mock", "--simnet-validator-keys-dir", os.path.join(d, "validator_keys"),
             "--p2p-tcp-address", "127.0.0.1:%d" % p2p, "--p2p-relays", relay,
             "--validator-api-address", "127.0.0.1:%d" % vapi, "--monitoring-address", "127.0.0.1:%d" % mon,
             "--log-color", "disable"], stdout=log, stderr=subprocess.STDOUT), log))
        ports.append(mon)
    return procs, ports


def stop(procs):
    for proc, log in procs:
        proc.terminate()
    for proc, log in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def readyz(port):
    try:
        return urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port, timeout=2).status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def test_charon_engine_real_dkg_then_charon_run(tmp_path, capsys):
    need_image()
    charon_bin()
    inventory = _inventory_copy(tmp_path)
    with local_relay(tmp_path) as relay:
        extra = {"dvops_dkg_engine": "charon", "charon_dkg_p2p_relays": [relay], "charon_dkg_timeout": "90s"}
        rc, out = play(tmp_path, inventory, extra)
        assert rc == 0, _failures(out)
        task = task_results(out, "Run charon dkg on every host at once")
        ceremony = seconds(task)
        for k, host in enumerate(sorted(NODES)):
            r = task["hosts"][host]
            argv = r["cmd"]
            # The production path: docker run of the pinned image on the host network, as the node's uid.
            assert argv[:3] == ["docker", "run", "--rm"] and argv[argv.index("--network") + 1] == "host"
            assert argv[argv.index("dkg") - 1] == IMAGE
            assert argv[argv.index("--p2p-relays") + 1] == relay
            # The node's execution client (geth's RPC port of this node in inventories/local), accepted by charon.
            assert argv[argv.index("--execution-client-rpc-endpoint") + 1] == "http://127.0.0.1:%d" % (8545 + 10 * k)
            log = ANSI_RE.sub("", r["stderr"] + r["stdout"])
            assert "Resolved new relay" in log and "Connected to peer 3 of 3" in log, log[-3000:]
            assert "All peers connected, starting DKG ceremony" in log
            assert "Successfully completed DKG ceremony" in log
            assert '"execution-client-rpc-endpoint": "http://127.0.0.1:%d"' % (8545 + 10 * k) in log
        data_dirs = [os.path.join(str(tmp_path), h, ".charon") for h in sorted(NODES)]
        hashes = set()
        for k, d in enumerate(data_dirs):
            res = info(capsys, d)
            assert res["valid"] and res["node_index"] == k, res["errors"]
            assert res["keystores"] == 2 and res["checks"]["keystores"] and res["checks"]["deposit_data_files"]
            assert res["checks"]["node_signatures"] and res["checks"]["signature_aggregate"]
            hashes.add(res["lock_hash"])
            lock = _cluster.load_file(os.path.join(d, "cluster-lock.json"))
            assert lock.definition.dkg_algorithm == "default"  # charon's own ceremony
            assert not os.path.exists(os.path.join(d, ".dvops-dkg-tmp"))
        assert len(hashes) == 1

        rc, again = play(tmp_path, inventory, extra)
        assert rc == 0, _failures(again)
        assert set(s["changed"] for s in again["stats"].values()) == {0}

        procs, ports = charon_run_nodes(tmp_path, data_dirs, relay)
        try:
            deadline, codes = time.time() + 60, []
            while time.time() < deadline:
                codes = [readyz(p) for p in ports]
                if codes == [200] * 4:
                    break
                time.sleep(1)
            assert codes == [200] * 4, codes
            ready = time.time()
            while time.time() < ready + 30:
                logs = [open(log.name).read() for _p, log in procs]
                if all("Successfully submitted" in x for x in logs):
                    break
                time.sleep(1)
            assert all("Successfully submitted" in x for x in logs), [x[-1500:] for x in logs]
        finally:
            stop(procs)
    with capsys.disabled():
        print("\nreal charon dkg (4 containers, local relay, 2 validators): ceremony task %.1f s" % ceremony)
