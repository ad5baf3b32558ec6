# -*- coding: utf-8 -*-
"""Voluntary exits against the REAL charon v1.10.3 (the binary of tests/fixtures/programs.py).

(a) ``submit``: four real ``charon run`` processes on loopback, one per node of a 3-of-4 cluster made by
    tests/fixtures/cluster_factory.py, connected through a real local ``charon relay``; each runs charon's
    own in-process beacon and validator mocks (``--simnet-beacon-mock --simnet-validator-mock``: charon's
    code, not ours). ``dv_exit`` posts every node's partial exits to that node's real validator API. What
    shows that charon accepted and aggregated them is charon's own output: the validator API answers 200
    and logs "Voluntary exit submitted by validator client" once it has verified a partial against the
    node's public share; once a threshold of partials has reached a node (its own plus its peers', over
    charon's parsigex), it aggregates them, verifies the result and logs "Successfully submitted voluntary
    exit to beacon node" (core/bcast), counting it in ``core_bcast_broadcast_total{duty="exit"}``.
    The simnet beacon mock is holesky's (its static genesis), so the cluster is a holesky one. Its domain
    for an exit is the fork at the exit epoch (go-eth2-client's generic rule; a real beacon node goes
    through charon's EIP-7044 path, which always takes Capella's), so with the mock only epochs between
    holesky's Capella (256) and Deneb (29696) forks give both sides the same domain: these tests sign
    epochs 256 and 300. (At charon's default 194048 the mock takes Deneb's version and charon answers
    "signature not verified"; against a real beacon node 194048 is signed with Capella's, see (b).)
(b) ``file``: the full exits ``dv_exit`` writes are broadcast by the real ``charon exit broadcast``
    (``--exit-from-file`` and ``--exit-from-dir``), run as the container's uid 1000 when the tests run as
    root. charon's beacon mock lives only inside ``charon run`` and ``exit broadcast`` needs a beacon node
    URL, so the beacon node here is the FAKE one of fake_beacon.py; charon itself verifies each exit
    signature (Capella domain, the FAKE's genesis root = hoodi's pinned one) before it submits.

Every process is started under ``timeout -s KILL`` (bounded even if the test run dies) and killed by the
fixtures.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _exit, _networks
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster, write_node_dirs
from ansible_collections.dvops.charon.tests.fixtures.programs import ProgramMissing, program_path
from ansible_collections.dvops.charon.tests.integration.fake_beacon import start_fakes, stop_fakes
from ansible_collections.dvops.charon.tests.integration.test_exit_playbook import _failures, _summary, play

PROCESS_BOUND = 600  # seconds: a hard limit on every charon process, whatever happens to the test run
READY_WITHIN = 90
FIRST_INDEX = 1300
CHARON_UID = 1000  # the charon image's user
SIMNET_SLOTS_PER_EPOCH = 16  # charon's beacon mock overrides SLOTS_PER_EPOCH to 16 (testutil/beaconmock/beaconmock.go)


@pytest.fixture(scope="module")
def charon():
    try:
        return program_path("charon")
    except ProgramMissing as exc:
        pytest.skip(str(exc))


def _free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _shared_tmpdir(prefix):
    """A temp dir uid 1000 can traverse (pytest's tmp_path is 0700 root)."""
    path = tempfile.mkdtemp(prefix=prefix)
    os.chmod(path, 0o755)
    return path


class _Procs(object):
    def __init__(self):
        self.procs = []

    def start(self, args, log_path):
        log = open(log_path, "wb")
        proc = subprocess.Popen(["timeout", "-s", "KILL", str(PROCESS_BOUND)] + args, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # the session of this one process (timeout + charon)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


class Simnet(object):
    """Relay + four charon nodes; node i's validator API, monitoring API and log."""

    def __init__(self, cluster, dirs, root):
        self.cluster, self.dirs, self.root = cluster, dirs, root
        self.api, self.mon, self.logs = [], [], []

    def log(self, i):
        with open(self.logs[i], "rb") as f:
            return f.read().decode("utf-8", "replace")

    def exit_metric(self, i):
        raw = urllib.request.urlopen(self.mon[i] + "/metrics", timeout=5).read().decode()
        total = 0.0
        for line in raw.splitlines():
            if line.startswith("core_bcast_broadcast_total{") and 'duty="exit"' in line:
                total += float(line.rsplit(" ", 1)[1])
        return total


@pytest.fixture(scope="module")
def simnet(charon):
    started = time.monotonic()
    root = _shared_tmpdir("dvops-real-exit-a-")
    c = build_cluster(seed=b"real charon exit", n=4, num_validators=2, network="holesky")
    dirs = write_node_dirs(c, root, deposit_files=False)
    net = Simnet(c, dirs, root)
    procs = _Procs()
    try:
        relay_http, relay_p2p = _free_port(), _free_port()
        os.makedirs(os.path.join(root, "relay"))
        procs.start([charon, "relay", "--data-dir", os.path.join(root, "relay"),
                     "--http-address", "127.0.0.1:%d" % relay_http, "--p2p-tcp-address", "127.0.0.1:%d" % relay_p2p,
                     "--p2p-external-ip", "127.0.0.1", "--p2p-relays", "", "--log-color", "disable"],
                    os.path.join(root, "relay.log"))
        for i, d in enumerate(dirs):
            api, mon, p2p = _free_port(), _free_port(), _free_port()
            net.api.append("http://127.0.0.1:%d" % api)
            net.mon.append("http://127.0.0.1:%d" % mon)
            net.logs.append(os.path.join(root, "node%d.log" % i))
            procs.start([charon, "run", "--lock-file", os.path.join(d, "cluster-lock.json"),
                         "--private-key-file", os.path.join(d, "charon-enr-private-key"),
                         "--simnet-beacon-mock", "--simnet-validator-mock",
                         "--simnet-validator-keys-dir", os.path.join(d, "validator_keys"),
                         "--validator-api-address", "127.0.0.1:%d" % api, "--monitoring-address", "127.0.0.1:%d" % mon,
                         "--p2p-tcp-address", "127.0.0.1:%d" % p2p, "--p2p-external-ip", "127.0.0.1",
                         "--p2p-relays", "http://127.0.0.1:%d" % relay_http, "--nickname", "node%d" % (i + 1),
                         "--log-color", "disable"], net.logs[i])
        deadline = time.monotonic() + READY_WITHIN
        ready = set()
        while len(ready) < len(dirs) and time.monotonic() < deadline:
            for i, url in enumerate(net.mon):
                try:
                    if urllib.request.urlopen(url + "/readyz", timeout=2).status == 200:
                        ready.add(i)
                except (OSError, ValueError):
                    pass
            time.sleep(0.5)
        assert len(ready) == len(dirs), "charon nodes not ready within %ds: %s; logs in %s" % (
            READY_WITHIN, sorted(set(range(len(dirs))) - ready), root)
        net.ready_seconds = time.monotonic() - started
        sys.stderr.write("\n[real charon] relay + 4 nodes ready in %.1fs\n" % net.ready_seconds)
        yield net
    finally:
        procs.stop()
        shutil.rmtree(root, ignore_errors=True)


def run_module(args):
    """dv_exit as Ansible runs it: a Python process reading its arguments from a file."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, f)
    try:
        proc = subprocess.run([sys.executable, "-m", "ansible_collections.dvops.charon.plugins.modules.dv_exit", f.name],
                              capture_output=True, text=True, timeout=120, check=False)
    finally:
        os.unlink(f.name)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("dv_exit printed no JSON (rc %d): %s %s" % (proc.returncode, proc.stdout, proc.stderr))


def _short(pubkey_hex):
    """charon's log form of a public key (core.PubKey.String: k[2:5] + "_" + k[94:97] of the 0x text)."""
    k = "0x" + (pubkey_hex[2:] if pubkey_hex.startswith("0x") else pubkey_hex)
    return "%s_%s" % (k[2:5], k[94:97])


def _accepted(log, duty):
    return len(re.findall(r"Voluntary exit submitted by validator client \{\"duty\": \"%s\"" % re.escape(duty), log))


def _broadcast(log, duty, pubkey):
    return re.search(r"Successfully submitted voluntary exit to beacon node .*\"pubkey\": \"%s\", \"duty\": \"%s\""
                     % (_short(pubkey), re.escape(duty)), log) is not None


def _wait(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return predicate()


def test_charon_verifies_each_partial_and_aggregates_at_threshold(simnet):
    c = simnet.cluster
    pks = ["0x" + dv.distributed_public_key.hex() for dv in c.lock.distributed_validators]
    epoch = 300
    duty = "%d/exit" % (epoch * SIMNET_SLOTS_PER_EPOCH)  # charon's exit duty: the first slot of its epoch
    before = [simnet.exit_metric(i) for i in range(4)]
    results = []
    for i in (0, 1):
        res = run_module(dict(data_dir=simnet.dirs[i], validator_api_url=simnet.api[i], epoch=epoch, confirm=True))
        assert not res.get("failed"), res.get("msg")
        assert res["network"] == "holesky" and res["share_index"] == i + 1
        assert [e["answer"]["status"] for e in res["exits"]] == [200, 200]
        results.append(res)
    for i in (0, 1):
        assert _wait(lambda: _accepted(simnet.log(i), duty) == 2, 10), simnet.log(i)[-3000:]
    # two partials of a 3-of-4 cluster: charon holds them and broadcasts nothing
    time.sleep(3)
    assert not any(_broadcast(simnet.log(i), duty, pk) for i in range(4) for pk in pks)
    assert [simnet.exit_metric(i) for i in range(4)] == before

    # a partial posted to the wrong node is refused: charon checks it against that node's public share
    wrong = _exit.signed_exit(epoch, 0, bytes.fromhex(results[0]["exits"][0]["partial_signature"][2:]))
    req = urllib.request.Request(simnet.api[2] + "/eth/v1/beacon/pool/voluntary_exits",
                                 data=json.dumps(wrong).encode(), headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=10)
    assert refused.value.code >= 400
    assert _wait(lambda: "signature not verified" in simnet.log(2), 5)

    # the third partial: every node (the fourth included, which sent nothing) aggregates and broadcasts
    res = run_module(dict(data_dir=simnet.dirs[2], validator_api_url=simnet.api[2], epoch=epoch, confirm=True))
    assert [e["answer"]["status"] for e in res["exits"]] == [200, 200], res.get("msg")
    for i in range(4):
        assert _wait(lambda: all(_broadcast(simnet.log(i), duty, pk) for pk in pks), 30), simnet.log(i)[-3000:]
        assert simnet.exit_metric(i) == before[i] + 2
    # the fourth operator's partial is still accepted (verified), and changes nothing
    res = run_module(dict(data_dir=simnet.dirs[3], validator_api_url=simnet.api[3], epoch=epoch, confirm=True))
    assert [e["answer"]["status"] for e in res["exits"]] == [200, 200], res.get("msg")
    assert _wait(lambda: _accepted(simnet.log(3), duty) == 2, 10)


def test_exit_playbook_submits_through_every_real_charon(simnet, tmp_path):
    c = simnet.cluster
    pks = ["0x" + dv.distributed_public_key.hex() for dv in c.lock.distributed_validators]
    hosts = dict(("node%d" % (i + 1), {"charon_data_dir": d, "dvops_exit_validator_api_url": simnet.api[i]})
                 for i, d in enumerate(simnet.dirs))
    inv = tmp_path / "hosts.json"
    inv.write_text(json.dumps({"all": {"children": {"dvops_cluster": {"hosts": hosts, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "python_deps_python": sys.executable}}}}}))
    started = time.monotonic()
    rc, out = play(str(inv), {"dvops_exit_confirm": True, "dvops_exit_epoch": 256})
    assert rc == 0, _failures(out)
    sys.stderr.write("\n[real charon] exit.yml (submit, 4 hosts) took %.1fs\n" % (time.monotonic() - started))
    summary = _summary(out)
    assert [s["pubkey"] for s in summary] == pks
    assert all("submitted to charon by 4 node(s): charon answered 200" in s["result"] for s in summary), summary
    duty = "%d/exit" % (256 * SIMNET_SLOTS_PER_EPOCH)
    for i in range(4):
        assert _wait(lambda: _accepted(simnet.log(i), duty) == 2, 10)
        assert _wait(lambda: all(_broadcast(simnet.log(i), duty, pk) for pk in pks), 30), simnet.log(i)[-3000:]


@pytest.fixture
def file_bed(charon):
    root = _shared_tmpdir("dvops-real-exit-b-")
    c = build_cluster(seed=b"real charon exit broadcast", n=4, num_validators=2, network="hoodi")
    dirs = write_node_dirs(c, root, deposit_files=False)
    chain, bn, charons, db = start_fakes(c, _networks.by_name("hoodi").genesis_validators_root, FIRST_INDEX)
    try:
        yield c, dirs, chain, bn, charons
    finally:
        stop_fakes(bn, charons)
        shutil.rmtree(root, ignore_errors=True)


def _as_charon_user():
    return (CHARON_UID, CHARON_UID) if os.geteuid() == 0 else (os.getuid(), os.getgid())


def _charon_exit_broadcast(charon, data_dir, bn_url, *args):
    """``charon exit broadcast`` as the container would run it (uid 1000 when we are root)."""
    uid, gid = _as_charon_user()
    kw = dict(user=uid, group=gid, extra_groups=[]) if os.geteuid() == 0 else {}
    cmd = ["timeout", "-s", "KILL", "120", charon, "exit", "broadcast", "--beacon-node-endpoints", bn_url,
           "--lock-file", os.path.join(data_dir, "cluster-lock.json"),
           "--private-key-file", os.path.join(data_dir, "charon-enr-private-key"), "--log-color", "disable"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=150, check=False, cwd="/", **kw)


def test_file_exits_are_broadcast_by_charon_exit_broadcast(charon, file_bed, tmp_path):
    c, dirs, chain, bn, charons = file_bed
    uid, gid = _as_charon_user()
    for d in dirs:  # what the charon `run` entry point does: .charon belongs to the container's user
        for base, subdirs, files in os.walk(d):
            for name in subdirs + files:
                os.lchown(os.path.join(base, name), uid, gid)
        os.lchown(d, uid, gid)
    hosts = dict(("node%d" % (i + 1), {"charon_data_dir": d, "dvops_exit_validator_api_url": charons[i].url})
                 for i, d in enumerate(dirs))
    inv = tmp_path / "hosts.json"
    inv.write_text(json.dumps({"all": {"children": {"dvops_cluster": {"hosts": hosts, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "python_deps_python": sys.executable, "charon_uid": uid, "charon_gid": gid}}}}}))
    rc, out = play(str(inv), {"dvops_exit_confirm": True, "dvops_exit_delivery": "file", "dvops_beacon_node_url": bn.url})
    assert rc == 0, _failures(out)
    assert not chain.broadcasts
    pks = ["0x" + dv.distributed_public_key.hex() for dv in c.lock.distributed_validators]
    hoodi = _networks.by_name("hoodi")

    # one file, charon's default epoch (194048): charon verifies it (Capella domain, hoodi's root) and submits
    exit_dir = os.path.join(dirs[0], "exits")
    started = time.monotonic()
    proc = _charon_exit_broadcast(charon, dirs[0], bn.url, "--validator-public-key", pks[0],
                                  "--exit-from-file", os.path.join(exit_dir, "exit-%s.json" % pks[0]))
    sys.stderr.write("\n[real charon] exit broadcast --exit-from-file took %.1fs\n" % (time.monotonic() - started))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Successfully submitted voluntary exit for validator" in proc.stdout + proc.stderr
    assert len(chain.broadcasts) == 1 and chain.validators[FIRST_INDEX]["status"] == "active_exiting"

    # the whole directory of another node: charon reads exit-*.json, passes over partial/, skips the
    # validator already exiting and submits the other one
    proc = _charon_exit_broadcast(charon, dirs[2], bn.url, "--all", "--exit-from-dir", os.path.join(dirs[2], "exits"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validator is not active, skipping broadcast" in proc.stdout + proc.stderr
    assert len(chain.broadcasts) == 2 and not chain.rejected
    for signed in chain.broadcasts:
        index = int(signed["message"]["validator_index"])
        assert signed["message"]["epoch"] == str(_exit.DEFAULT_EXIT_EPOCH)
        root = _exit.signing_root(_exit.DEFAULT_EXIT_EPOCH, index, hoodi.capella_fork_version,
                                  hoodi.genesis_validators_root)
        assert _bls.verify(bytes.fromhex(pks[index - FIRST_INDEX][2:]), root, bytes.fromhex(signed["signature"][2:]))

    # why the partials live apart: charon reads every exit-* entry of the directory and fails on a partial
    # named as the collection used to name them beside the full exits
    old = _shared_tmpdir("dvops-real-exit-old-layout-")
    try:
        shutil.copy(os.path.join(exit_dir, "exit-%s.json" % pks[1]), old)
        shutil.copy(os.path.join(exit_dir, "partial", "partial-exit-%s-share-1.json" % pks[1]),
                    os.path.join(old, "exit-%s-share-1.json" % pks[1]))
        for name in os.listdir(old):
            os.lchown(os.path.join(old, name), uid, gid)
        proc = _charon_exit_broadcast(charon, dirs[0], bn.url, "--all", "--exit-from-dir", old)
        assert proc.returncode != 0 and "share-1" in proc.stdout + proc.stderr
    finally:
        shutil.rmtree(old, ignore_errors=True)


def test_default_exit_epoch_is_the_real_charons(charon):
    out = subprocess.run([charon, "exit", "broadcast", "--help"], capture_output=True, text=True, timeout=30,
                         check=False).stdout
    match = re.search(r"--exit-epoch uint\s+.*\(default (\d+)\)", out)
    assert match, out
    assert int(match.group(1)) == _exit.DEFAULT_EXIT_EPOCH
