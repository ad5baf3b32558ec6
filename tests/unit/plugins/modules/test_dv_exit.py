# -*- coding: utf-8 -*-
"""dv_exit in-process: options, refusals, check mode, every delivery, against the FAKE beacon/charon APIs."""

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.dvops.charon.plugins.modules import dv_exit
from ansible_collections.dvops.charon.plugins.module_utils import _bls
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster, write_node_dirs
from ansible_collections.dvops.charon.tests.integration.fake_beacon import FakeBeaconNode, FakeChain, start_fakes, stop_fakes

GVR = bytes(range(1, 33))
FIRST_INDEX = 100


class _Exit(Exception):
    pass


class _Failed(Exception):
    pass


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = build_cluster(seed=b"dv_exit unit", n=4, num_validators=2, network="hoodi")
    root = tmp_path_factory.mktemp("nodes")
    return c, write_node_dirs(c, root, deposit_files=False)


@pytest.fixture
def fakes(cluster):
    chain, bn, charons, db = start_fakes(cluster[0], GVR, FIRST_INDEX)
    yield chain, bn, charons, db
    stop_fakes(bn, charons)


def run(args, check=False, monkeypatch=None):
    args = dict(args)
    if check:
        args["_ansible_check_mode"] = True

    def exit_json(self, **kw):
        raise _Exit(kw)

    def fail_json(self, **kw):
        raise _Failed(kw)
    monkeypatch.setattr(dv_exit.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(dv_exit.AnsibleModule, "fail_json", fail_json)
    with patch_module_args(args):
        try:
            dv_exit.main()
        except _Exit as e:
            return e.args[0]
        except _Failed as e:
            raise AssertionError("module failed: %s" % e.args[0]["msg"])
    raise AssertionError("module did not exit")


def fails(args, monkeypatch, check=False):
    try:
        run(args, check=check, monkeypatch=monkeypatch)
    except AssertionError as e:
        return str(e)
    raise AssertionError("module did not fail")


def test_submit_through_charon_until_threshold(cluster, fakes, monkeypatch):
    c, dirs = cluster
    chain, charons, db = fakes[0], fakes[2], fakes[3]
    pk0 = "0x" + c.lock.distributed_validators[0].distributed_public_key.hex()
    for i in range(3):
        res = run(dict(data_dir=dirs[i], validators=[pk0], confirm=True, validator_api_url=charons[i].url),
                  monkeypatch=monkeypatch)
        assert res["changed"] and res["share_index"] == i + 1 and res["epoch"] == 256 and res["network"] == "hoodi"
        (e,) = res["exits"]
        assert e["sent"] and e["validator_index"] == FIRST_INDEX and e["status"] == "active_ongoing"
        assert e["answer"]["status"] == 200
        share = c.lock.distributed_validators[0].public_shares[i]
        assert _bls.verify(share, bytes.fromhex(e["signing_root"][2:]), bytes.fromhex(e["partial_signature"][2:]))
        # the result never carries a key share or password
        secret_hex = c.share_secrets(i)[0].hex()
        assert secret_hex not in json.dumps(res)
    assert [x[0] for x in db.received] == [1, 2, 3]
    assert len(chain.broadcasts) == 1 and chain.validators[FIRST_INDEX]["status"] == "active_exiting"
    # the 4th operator: already exiting, nothing sent
    res = run(dict(data_dir=dirs[3], validators=[pk0], confirm=True, validator_api_url=charons[3].url),
              monkeypatch=monkeypatch)
    assert not res["changed"] and res["exits"][0]["action"] == "none" and not res["exits"][0]["sent"]
    assert len(db.received) == 3


def test_file_then_combine(cluster, fakes, monkeypatch, tmp_path):
    c, dirs = cluster
    chain, bn = fakes[0], fakes[1]
    partials = []
    for i in (3, 1, 0):
        args = dict(data_dir=dirs[i], delivery="file", exit_dir=str(tmp_path / "x"), beacon_node_url=bn.url,
                    validators=[FIRST_INDEX + 1], confirm=True)
        res = run(args, monkeypatch=monkeypatch)
        assert res["changed"]
        path = res["exits"][0]["file"]
        assert os.path.basename(path) == "exit-0x%s-share-%d.json" % (
            c.lock.distributed_validators[1].distributed_public_key.hex(), i + 1)
        assert os.stat(path).st_mode & 0o777 == 0o600
        partials.append(json.loads(open(path).read()))
        assert res["msg"].startswith("1 exit(s) written")
        again = run(args, monkeypatch=monkeypatch)  # idempotent: the file is there and is this exit
        assert again["msg"].startswith("0 exit(s) written")
        assert not again["changed"] and again["exits"][0]["partial_signature"] == res["exits"][0]["partial_signature"]
    combine = dict(data_dir=dirs[0], delivery="combine", beacon_node_url=bn.url, partial_exits=partials[:2],
                   validators=[FIRST_INDEX + 1], confirm=True)
    assert "1 missing" in fails(combine, monkeypatch)
    res = run(dict(combine, partial_exits=partials), check=True, monkeypatch=monkeypatch)
    assert res["changed"] and res["exits"][0]["threshold_met"] and not chain.broadcasts
    res = run(dict(combine, partial_exits=partials), monkeypatch=monkeypatch)
    e = res["exits"][0]
    assert e["sent"] and e["share_indices"] == [1, 2, 4] and e["answer"]["status"] == 200
    assert len(chain.broadcasts) == 1 and chain.validators[FIRST_INDEX + 1]["status"] == "active_exiting"
    again = run(dict(combine, partial_exits=partials), monkeypatch=monkeypatch)
    assert not again["changed"] and again["exits"][0]["action"] == "none"
    # all validators selected: the other one has no partials at all
    assert "0 partial exits present, threshold is 3: 3 missing" in fails(
        dict(combine, validators=[], partial_exits=partials), monkeypatch)


def test_combine_names_a_bad_partial(cluster, fakes, monkeypatch):
    c, dirs = cluster
    bn = fakes[1]
    parts = []
    for i in range(3):
        res = run(dict(data_dir=dirs[i], delivery="sign", beacon_node_url=bn.url, confirm=True), monkeypatch=monkeypatch)
        assert not res["changed"] and len(res["exits"]) == 2
        parts.extend(res["exits"])
    parts[2] = dict(parts[2], partial_signature=parts[0]["partial_signature"])  # share 2's slot, share 1's signature
    msg = fails(dict(data_dir=dirs[0], delivery="combine", beacon_node_url=bn.url, partial_exits=parts, confirm=True),
                monkeypatch)
    assert "partial exit of share 2 for validator 0x" in msg and "does not verify" in msg


def test_refusals(cluster, fakes, monkeypatch, tmp_path):
    c, dirs = cluster
    chain, bn, charons, db = fakes
    base = dict(data_dir=dirs[0], beacon_node_url=bn.url, validator_api_url=charons[0].url)
    assert "confirm: refusing" in fails(base, monkeypatch)
    assert "unknown validator 0x" + "ab" * 48 in fails(dict(base, confirm=True, validators=["0x" + "ab" * 48]), monkeypatch)
    assert "unknown validator index 7" in fails(dict(base, confirm=True, validators=[7]), monkeypatch)
    wrong = FakeBeaconNode(FakeChain(bytes(4), bytes.fromhex("03000000"), GVR))
    try:
        msg = fails(dict(base, confirm=True, beacon_node_url=wrong.url), monkeypatch)
    finally:
        wrong.close()
    assert "wrong network" in msg and "mainnet" in msg and "hoodi" in msg
    # a node whose password file does not open its keystore
    import shutil
    bad = str(tmp_path / "bad")
    shutil.copytree(dirs[1], bad)
    os.chmod(os.path.join(bad, "validator_keys", "keystore-0.txt"), 0o600)
    with open(os.path.join(bad, "validator_keys", "keystore-0.txt"), "w") as f:
        f.write("not the password")
    msg = fails(dict(base, data_dir=bad, confirm=True), monkeypatch)
    assert "cannot decrypt" in msg and "keystore-0.json" in msg and "wrong password" in msg
    assert "not the password" not in msg
    # check mode needs no confirmation, decrypts (a wrong password shows) and sends nothing
    assert "wrong password" in fails(dict(base, data_dir=bad), monkeypatch, check=True)
    res = run(base, check=True, monkeypatch=monkeypatch)
    assert res["changed"] and all(e["partial_signature"] is None and not e["sent"] for e in res["exits"])
    assert not db.received and not chain.broadcasts
    assert "beacon_node_url: required" in fails(dict(data_dir=dirs[0], delivery="combine", confirm=True), monkeypatch)
    assert "exit_dir: required" in fails(dict(base, delivery="file", confirm=True), monkeypatch)


def test_charon_refusal_is_reported_with_what_was_sent(cluster, fakes, monkeypatch):
    dirs = cluster[1]
    db = fakes[3]
    # node1's share posted to node2's charon: the fake charon checks it against public share 2
    msg = fails(dict(data_dir=dirs[0], validator_api_url=fakes[2][1].url, beacon_node_url=fakes[1].url, confirm=True),
                monkeypatch)
    assert "charon refused the partial exit of 0x" in msg and "HTTP 400" in msg and "public share 2" in msg
    assert not db.received


def test_pending_is_skipped_and_charon_lookup_by_share(cluster, fakes, monkeypatch):
    c, dirs = cluster
    chain, charons = fakes[0], fakes[2]
    chain.validators[FIRST_INDEX + 1]["status"] = "pending_queued"
    res = run(dict(data_dir=dirs[2], validator_api_url=charons[2].url), check=True, monkeypatch=monkeypatch)
    assert [e["action"] for e in res["exits"]] == ["sign", "skip"]
    assert [e["validator_index"] for e in res["exits"]] == [FIRST_INDEX, FIRST_INDEX + 1]
    assert [e["status"] for e in res["exits"]] == ["active_ongoing", "pending_queued"]
