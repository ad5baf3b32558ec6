# -*- coding: utf-8 -*-
"""Growing a cluster the native engine made, with charon's own tool (issue 9 item 5): the REAL charon v1.10.3
`charon alpha edit add-validators` on four nodes at once (processes on loopback, a real local `charon relay`,
every process bounded and stopped by the test).

The native ceremony (charon_dkg phases round1..finish, the engine's own code) makes the cluster; charon then adds
a validator. It succeeds because the native engine records dkg_algorithm "frost" (charon's name for FROST key
generation), and charon_cluster_info verifies charon's new lock (old validators kept, keystores of this node).
The same run on a lock of the old value "dvops-frost-keygen-v1" fails: charon stops with "unsupported dkg
algorithm" after every peer connected: the defect this guards against (such locks stay valid for our own checks).
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _dkg
from ansible_collections.dvops.charon.plugins.modules import charon_cluster_info, charon_dkg, charon_enr
from ansible_collections.dvops.charon.tests.integration.test_real_charon_crosscheck import (
    ANSI_RE, charon_bin, local_relay)

UID, GID = str(os.getuid()), str(os.getgid())


def run_module(module, capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    res = json.loads(capsys.readouterr().out)
    assert not res.get("failed"), res.get("msg")
    return res


def native_cluster(tmp, capsys, dkg_algorithm=None):
    """Four data dirs holding a cluster made by the native ceremony (2 validators)."""
    dirs = []
    for k in range(4):
        d = tmp / ("node%d" % k) / ".charon"
        run_module(charon_enr, capsys, data_dir=str(d), owner=UID, group=GID)
        dirs.append(str(d))
    status = [run_module(charon_dkg, capsys, phase="status", data_dir=d) for d in dirs]
    create = {"name": "native-grown", "operator_enrs": [s["enr"] for s in status], "num_validators": 2,
              "network": "hoodi", "fee_recipient_addresses": "0x" + "de" * 20, "withdrawal_addresses": "0x" + "be" * 20}
    if dkg_algorithm:
        create["dkg_algorithm"] = dkg_algorithm
    definition = run_module(charon_dkg, capsys, phase="definition", data_dir=dirs[0], create=create)["definition"]
    for d in dirs:
        run_module(charon_dkg, capsys, phase="prepare", data_dir=d, definition=definition, owner=UID, group=GID)
    msgs = []
    for phase in ("round1", "round2", "round3", "finish"):
        msgs = [run_module(charon_dkg, capsys, phase=phase, data_dir=d, messages=msgs, owner=UID, group=GID)
                .get("message") for d in dirs]
    return dirs


def add_validators(dirs, relay, bound=150, timeout="90s"):
    start, procs = time.time(), []
    for d in dirs:
        out = os.path.join(os.path.dirname(d), "grown")
        log = open(os.path.join(os.path.dirname(d), "add-validators.log"), "w")
        procs.append((subprocess.Popen(
            ["timeout", str(bound), charon_bin(), "alpha", "edit", "add-validators", "--num-validators", "1",
             "--private-key-file", os.path.join(d, "charon-enr-private-key"),
             "--lock-file", os.path.join(d, "cluster-lock.json"), "--validator-keys-dir", os.path.join(d, "validator_keys"),
             "--output-dir", out, "--p2p-relays", relay, "--timeout", timeout, "--shutdown-delay", "1s",
             "--fee-recipient-addresses", "0x" + "de" * 20, "--withdrawal-addresses", "0x" + "be" * 20,
             "--log-color", "disable"], stdout=log, stderr=subprocess.STDOUT), log, out))
    results = []
    for proc, log, out in procs:
        proc.wait()
        log.close()
        results.append((proc.returncode, ANSI_RE.sub("", open(log.name).read()), out))
    return results, time.time() - start


def test_add_validators_on_a_native_cluster(tmp_path, capsys):
    charon_bin()
    dirs = native_cluster(tmp_path, capsys)
    old = _cluster.load_file(os.path.join(dirs[0], "cluster-lock.json"))
    assert old.definition.dkg_algorithm == _dkg.ALGORITHM == "frost"
    with local_relay(tmp_path) as relay:
        results, seconds = add_validators(dirs, relay)
    for rc, log, _out in results:
        assert rc == 0 and "Successfully completed add-validators ceremony" in log, log[-4000:]
    old_keys = [bytes(dv.distributed_public_key) for dv in old.distributed_validators]
    hashes = set()
    for k, (_rc, _log, out) in enumerate(results):
        with patch_module_args({"path": out}):
            with pytest.raises(SystemExit):
                charon_cluster_info.main()
        res = json.loads(capsys.readouterr().out)
        assert res["valid"] and res["node_index"] == k, res.get("errors")
        assert res["num_validators"] == 3 and res["keystores"] == 3
        hashes.add(res["lock_hash"])
        lock = _cluster.load_file(os.path.join(out, "cluster-lock.json"))
        # The native validators are kept, first and unchanged; charon's FROST made the third.
        assert [bytes(dv.distributed_public_key) for dv in lock.distributed_validators][:2] == old_keys
        assert lock.definition.dkg_algorithm == "frost"
    assert len(hashes) == 1
    with capsys.disabled():
        print("\ncharon alpha edit add-validators on a native cluster (4 processes, local relay): %.1f s" % seconds)


def test_add_validators_refuses_the_old_algorithm_name(tmp_path, capsys):
    # Why the value changed: the real charon on a lock carrying the old value.
    charon_bin()
    dirs = native_cluster(tmp_path, capsys, dkg_algorithm=_dkg.LEGACY_ALGORITHM)
    lock = _cluster.load_file(os.path.join(dirs[0], "cluster-lock.json"))
    assert lock.definition.dkg_algorithm == "dvops-frost-keygen-v1" and _cluster.verify_lock(lock).valid
    with local_relay(tmp_path) as relay:
        results, _seconds = add_validators(dirs, relay, bound=90, timeout="30s")
    logs = [log for _rc, log, _out in results]
    # Every node fails; the ones that reach the algorithm switch first say why (the others then lose their
    # peers in the sync protocol and time out).
    assert all(rc != 0 for rc, _log, _out in results)
    assert not any("Successfully completed" in log for log in logs)
    stopped = [log for log in logs if "unsupported dkg algorithm" in log]
    assert stopped, [log[-2000:] for log in logs]
    assert all("All peers connected" in log for log in stopped)
    assert not any(os.path.exists(os.path.join(out, "cluster-lock.json")) for _rc, _log, out in results)
