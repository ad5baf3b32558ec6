# -*- coding: utf-8 -*-
"""playbooks/exit.yml on four local nodes against a FAKE beacon node and FAKE charon validator APIs.

The cluster comes from tests/fixtures/cluster_factory.py (trusted dealer, 3-of-4, hoodi, two
validators); the fakes are in fake_beacon.py.  Each node gets its own fake charon, which verifies
partials against its public share, counts them, and broadcasts the combined exit to the fake chain
at threshold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster, write_node_dirs
from ansible_collections.dvops.charon.tests.integration.fake_beacon import start_fakes, stop_fakes

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GVR = bytes.fromhex("212f13fc4df078b6cb7db228f1c8307566dcecf900867401a92023d7ba99cb5f")  # hoodi's
FIRST_INDEX = 1200


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = build_cluster(seed=b"exit playbook", n=4, num_validators=2, network="hoodi")
    return c, write_node_dirs(c, tmp_path_factory.mktemp("nodes"), deposit_files=False)


@pytest.fixture
def fakes(cluster):
    chain, bn, charons, db = start_fakes(cluster[0], GVR, FIRST_INDEX)
    yield chain, bn, charons, db
    stop_fakes(bn, charons)


def _inventory(tmp_path, dirs, charons, **group_vars):
    hosts = {}
    for i, d in enumerate(dirs):
        hosts["node%d" % (i + 1)] = {"charon_data_dir": d, "dvops_exit_validator_api_url": charons[i].url}
    group = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
             "python_deps_python": sys.executable}
    group.update(group_vars)
    inv = {"all": {"children": {"dvops_cluster": {"hosts": hosts, "vars": group}}}}
    path = tmp_path / "hosts.json"
    path.write_text(json.dumps(inv))
    return str(path)


def play(inventory, extra, check=False):
    """Run playbooks/exit.yml; returns (rc, parsed json-callback output)."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "playbooks/exit.yml", "-i", inventory,
           "-e", json.dumps(extra)]
    if check:
        cmd.append("--check")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("no JSON from ansible-playbook (rc %d):\n%s\n%s" % (proc.returncode, proc.stdout, proc.stderr))
    return proc.returncode, out


def _task(out, name):
    for p in out["plays"]:
        for t in p["tasks"]:
            # the tasks are the charon role's "exit" entry point: "dvops.charon.charon : <name>"
            if t["task"]["name"].split(" : ")[-1] == name:
                return t["hosts"]
    raise AssertionError("task %r did not run" % name)


def _summary(out):
    for host in _task(out, "Show the summary").values():
        return host["dvops_exit_summary"]


def _changed(out):
    return dict((h, s["changed"]) for h, s in out["stats"].items())


def _failures(out):
    return dict((h, s["failures"]) for h, s in out["stats"].items() if s["failures"])


def _assert_verified_exits(chain, c, epoch=194048):
    assert len(chain.broadcasts) == len(c.lock.distributed_validators)
    for signed in chain.broadcasts:
        index = int(signed["message"]["validator_index"])
        assert int(signed["message"]["epoch"]) == epoch  # charon's --exit-epoch default unless set
        pub = c.lock.distributed_validators[index - FIRST_INDEX].distributed_public_key
        assert _bls.verify(pub, chain.signing_root(epoch, index), bytes.fromhex(signed["signature"][2:]))
        assert chain.validators[index]["status"] == "active_exiting"


def test_submit_through_each_charon_then_nothing(cluster, fakes, tmp_path):
    c, dirs = cluster
    chain, bn, charons, db = fakes
    inv = _inventory(tmp_path, dirs, charons)
    rc, out = play(inv, {"dvops_exit_confirm": True})
    assert rc == 0, _failures(out)
    # every host posted at most one partial per validator to its own charon, each verified by it,
    # and charon broadcast one combined exit per validator once three had arrived
    for i, charon in enumerate(charons):
        indices = [int(p["message"]["validator_index"]) for p in charon.posted]
        assert len(indices) == len(set(indices)), "node%d posted twice" % (i + 1)
    per_validator = [sum(1 for r in db.received if r[2] == FIRST_INDEX + j) for j in range(2)]
    assert all(n >= 3 for n in per_validator)
    _assert_verified_exits(chain, c)
    summary = _summary(out)
    assert [s["validator_index"] for s in summary] == [str(FIRST_INDEX), str(FIRST_INDEX + 1)] or \
        [s["validator_index"] for s in summary] == [FIRST_INDEX, FIRST_INDEX + 1]
    assert all(s["threshold_met"] in (True, "True") for s in summary)
    assert all("submitted to charon" in s["result"] or "already exiting" in s["result"] for s in summary)

    posted = len(db.received)
    rc, out = play(inv, {"dvops_exit_confirm": True})
    assert rc == 0, _failures(out)
    assert set(_changed(out).values()) == {0}
    assert len(db.received) == posted and len(chain.broadcasts) == 2
    assert all("already exiting (active_exiting)" in s["result"] for s in _summary(out))


def test_combine_on_one_host_broadcasts_once_then_nothing(cluster, fakes, tmp_path):
    c, dirs = cluster
    chain, bn, charons, db = fakes
    inv = _inventory(tmp_path, dirs, charons)
    extra = {"dvops_exit_confirm": True, "dvops_exit_delivery": "combine", "dvops_beacon_node_url": bn.url}
    rc, out = play(inv, extra)
    assert rc == 0, _failures(out)
    assert not db.received  # charon is not involved
    _assert_verified_exits(chain, c)
    summary = _summary(out)
    assert all(int(s["partials_made"]) == 4 for s in summary)
    assert all("beacon node answered HTTP 200" in s["result"] for s in summary)

    rc, out = play(inv, extra)
    assert rc == 0, _failures(out)
    assert set(_changed(out).values()) == {0}
    assert len(chain.broadcasts) == 2


def test_refused_without_confirmation(cluster, fakes, tmp_path):
    # (unknown validator, wrong network and a wrong keystore password: tests/unit/plugins/modules/test_dv_exit.py)
    dirs = cluster[1]
    chain, bn, charons, db = fakes
    rc, out = play(_inventory(tmp_path, dirs, charons), {"dvops_exit_validators": [FIRST_INDEX]})
    assert rc != 0
    # dv_exit refuses on every host before it reads or sends anything (the playbook no longer repeats it)
    results = _task(out, "Sign this operator's partial exits")
    assert sorted(results) == ["node%d" % i for i in range(1, 5)]
    for res in results.values():
        assert res["failed"] and "cannot be undone" in res["msg"] and "dvops_exit_confirm" in res["msg"]
    assert not db.received and not chain.broadcasts and not bn.requests
    assert not any(charon.requests for charon in charons)


def test_file_delivery_leaves_full_exits_for_charon_and_partials_apart(cluster, fakes, tmp_path):
    c, dirs = cluster
    chain, bn, charons, db = fakes
    uid, gid = (1000, 1000) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    inv = _inventory(tmp_path, dirs, charons, charon_uid=uid, charon_gid=gid)
    extra = {"dvops_exit_confirm": True, "dvops_exit_delivery": "file", "dvops_beacon_node_url": bn.url}
    rc, out = play(inv, extra)
    assert rc == 0, _failures(out)
    assert not db.received and not chain.broadcasts  # nothing sent: the files are for charon exit broadcast
    pks = ["0x" + dv.distributed_public_key.hex() for dv in c.lock.distributed_validators]
    for i, d in enumerate(dirs):
        exit_dir = os.path.join(d, "exits")  # the default: inside the data dir charon's container mounts
        assert sorted(os.listdir(exit_dir)) == sorted(["partial"] + ["exit-%s.json" % pk for pk in pks])
        assert sorted(os.listdir(os.path.join(exit_dir, "partial"))) == sorted(
            "partial-exit-%s-share-%d.json" % (pk, i + 1) for pk in pks)
        for pk in pks:
            st = os.stat(os.path.join(exit_dir, "exit-%s.json" % pk))
            assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (uid, gid, 0o600)
            full = json.loads(open(os.path.join(exit_dir, "exit-%s.json" % pk)).read())
            index = int(full["message"]["validator_index"])
            assert _bls.verify(bytes.fromhex(pk[2:]), chain.signing_root(194048, index),
                               bytes.fromhex(full["signature"][2:]))
    assert all("full exit" in s["result"] and "charon exit broadcast" in s["result"] for s in _summary(out))
    rc, out = play(inv, extra)
    assert rc == 0, _failures(out)
    assert set(_changed(out).values()) == {0}


def test_unreachable_charon_says_what_to_do(cluster, fakes, tmp_path):
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    closed = "http://127.0.0.1:%d" % sock.getsockname()[1]
    sock.close()
    dirs = cluster[1]
    charons = fakes[2]
    inv = _inventory(tmp_path, dirs[:1], charons[:1])
    with open(inv) as f:
        doc = json.load(f)
    doc["all"]["children"]["dvops_cluster"]["hosts"]["node1"]["dvops_exit_validator_api_url"] = closed
    with open(inv, "w") as f:
        json.dump(doc, f)
    rc, out = play(inv, {"dvops_exit_confirm": True, "dvops_exit_timeout": 3})
    assert rc != 0
    msg = _task(out, "Sign this operator's partial exits")["node1"]["msg"]
    assert "validator API at %s does not answer" % closed in msg and "start this node's charon" in msg
    assert "dvops_exit_validator_api_url" in msg and "dvops_beacon_node_url" in msg


@pytest.mark.parametrize("extra, needle", [
    # dv_exit's own "sign" is the first half of combine, not a delivery: the entry point's spec refuses it
    ({"dvops_exit_delivery": "sign"}, "dvops_exit_delivery"),
    # combine's beacon node is checked before any host signs (dv_exit would see it only at the combine step)
    ({"dvops_exit_delivery": "combine"}, "set dvops_beacon_node_url"),
])
def test_refused_before_anything_is_signed(cluster, fakes, tmp_path, extra, needle):
    dirs = cluster[1]
    chain, bn, charons, db = fakes
    rc, out = play(_inventory(tmp_path, dirs, charons), dict(extra, dvops_exit_confirm=True))
    assert rc != 0
    msgs = [r.get("msg", "") for p in out["plays"] for t in p["tasks"] for r in t["hosts"].values() if r.get("failed")]
    assert msgs and all(needle in m for m in msgs), msgs
    names = [t["task"]["name"].split(" : ")[-1] for p in out["plays"] for t in p["tasks"]]
    assert "Sign this operator's partial exits" not in names
    assert not db.received and not chain.broadcasts and not any(charon.requests for charon in charons)
