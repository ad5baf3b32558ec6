# -*- coding: utf-8 -*-
"""dv_exit in-process: options, refusals, check mode, every delivery, against the FAKE beacon/charon APIs."""

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.dvops.charon.plugins.modules import dv_exit
from ansible_collections.dvops.charon.plugins.module_utils import _bls, _exit, _networks
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster, write_node_dirs
from ansible_collections.dvops.charon.tests.integration.fake_beacon import FakeBeaconNode, FakeChain, start_fakes, stop_fakes

GVR = _networks.by_name("hoodi").genesis_validators_root  # pinned: the module refuses any other
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
        assert res["changed"] and res["share_index"] == i + 1 and res["network"] == "hoodi"
        assert res["epoch"] == 194048  # charon's --exit-epoch default
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
        # partials apart from the full exits, under a name charon exit broadcast never reads
        assert path == str(tmp_path / "x" / "partial" / ("partial-exit-0x%s-share-%d.json" % (
            c.lock.distributed_validators[1].distributed_public_key.hex(), i + 1)))
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


def _warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(dv_exit.AnsibleModule, "warn", lambda self, msg: seen.append(msg))
    return seen


def _pk(c, j):
    return "0x" + c.lock.distributed_validators[j].distributed_public_key.hex()


@pytest.mark.parametrize("bad", [2 ** 64, 2 ** 64 + 5, 2 ** 100, -1])
def test_epoch_out_of_uint64_range_is_a_named_error(cluster, fakes, monkeypatch, bad):
    dirs = cluster[1]
    chain, bn, charons, db = fakes
    msg = fails(dict(data_dir=dirs[0], beacon_node_url=bn.url, validator_api_url=charons[0].url, confirm=True,
                     epoch=bad), monkeypatch)
    assert "epoch: %d does not fit a uint64" % bad in msg
    assert not db.received and not bn.requests  # refused before any request


def test_far_future_epoch_warns_and_default_is_charons(cluster, fakes, monkeypatch):
    dirs = cluster[1]
    bn = fakes[1]
    hoodi = _networks.by_name("hoodi")
    # late 2026 on hoodi: epoch 140000; charon's default 194048 is then 54048 epochs (~240 days) away
    now = hoodi.genesis_time + 140000 * 12 * 32 + 5
    monkeypatch.setattr(dv_exit.time, "time", lambda: now)
    seen = _warnings(monkeypatch)
    res = run(dict(data_dir=dirs[0], beacon_node_url=bn.url), check=True, monkeypatch=monkeypatch)
    assert res["epoch"] == 194048
    assert any("epoch 194048 is 54048 epochs (about 240 days) after hoodi's current epoch 140000" in w for w in seen)
    del seen[:]
    res = run(dict(data_dir=dirs[0], beacon_node_url=bn.url, epoch=140000 + 256), check=True, monkeypatch=monkeypatch)
    assert res["epoch"] == 140256 and not [w for w in seen if "current epoch" in w]


def test_beacon_node_on_another_chain_is_refused(cluster, monkeypatch):
    dirs = cluster[1]
    hoodi = _networks.by_name("hoodi")
    # same fork version as hoodi (so the fork check passes), other genesis validators root
    other = FakeBeaconNode(FakeChain(hoodi.genesis_fork_version, hoodi.capella_fork_version, b"\x42" * 32))
    try:
        msg = fails(dict(data_dir=dirs[0], beacon_node_url=other.url, confirm=True), monkeypatch)
    finally:
        other.close()
    assert "wrong chain" in msg and "0x" + "42" * 32 in msg and "0x" + hoodi.genesis_validators_root.hex() in msg
    assert other.requests == [("GET", "/eth/v1/beacon/genesis")]  # nothing looked up, nothing signed


def test_unreachable_charon_says_what_to_do(cluster, monkeypatch):
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    msg = fails(dict(data_dir=cluster[1][0], validator_api_url="http://127.0.0.1:%d" % port, confirm=True,
                     timeout=3), monkeypatch)
    assert "charon's validator API at http://127.0.0.1:%d does not answer" % port in msg
    assert "start this node's charon" in msg and "dvops_exit_validator_api_url" in msg and "dvops_beacon_node_url" in msg


def _owner():
    return (1000, 1000) if os.geteuid() == 0 else (os.getuid(), os.getgid())


def test_file_then_offline_combine_layout_for_charon(cluster, fakes, monkeypatch, tmp_path):
    c, dirs = cluster
    chain, bn = fakes[0], fakes[1]
    uid, gid = _owner()
    exit_dir = tmp_path / "exits"
    exit_dir.mkdir(mode=0o755)  # already there, the runner's: given to charon's user, its mode left alone
    parts = []
    for i in (0, 2, 3):
        res = run(dict(data_dir=dirs[i], delivery="file", exit_dir=str(exit_dir), beacon_node_url=bn.url, epoch=300,
                       owner=uid, group=gid, confirm=True), monkeypatch=monkeypatch)
        parts.extend(res["exits"])
    seen_requests = len(bn.requests)
    combine = dict(data_dir=dirs[1], delivery="combine", broadcast=False, exit_dir=str(exit_dir), epoch=300,
                   owner=uid, group=gid, partial_exits=parts, confirm=True)
    res = run(combine, monkeypatch=monkeypatch)
    assert len(bn.requests) == seen_requests and not chain.broadcasts  # no beacon node needed, nothing sent
    assert res["changed"] and res["msg"].startswith("2 exit(s) written")
    names = sorted(os.listdir(str(exit_dir)))
    assert names == sorted(["partial", "exit-%s.json" % _pk(c, 0), "exit-%s.json" % _pk(c, 1)])
    assert sorted(os.listdir(str(exit_dir / "partial"))) == sorted(
        "partial-exit-%s-share-%d.json" % (_pk(c, j), x) for j in (0, 1) for x in (1, 3, 4))
    st = os.stat(str(exit_dir))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (uid, gid, 0o755)
    for name in names:
        st = os.lstat(str(exit_dir / name))
        assert (st.st_uid, st.st_gid) == (uid, gid)
        assert st.st_mode & 0o777 == (0o700 if name == "partial" else 0o600)
    hoodi = _networks.by_name("hoodi")
    for j, e in enumerate(res["exits"]):
        assert e["file"] == str(exit_dir / ("exit-%s.json" % _pk(c, j)))
        full = json.loads(open(e["file"]).read())
        index = int(full["message"]["validator_index"])
        assert index == FIRST_INDEX + j and full["message"]["epoch"] == "300"
        root = _exit.signing_root(300, index, hoodi.capella_fork_version, hoodi.genesis_validators_root)
        assert _bls.verify(c.lock.distributed_validators[j].distributed_public_key, root,
                           bytes.fromhex(full["signature"][2:]))
    again = run(combine, monkeypatch=monkeypatch)
    assert not again["changed"] and again["msg"].startswith("0 exit(s) written")


def test_exit_file_with_other_content_is_never_replaced(cluster, fakes, monkeypatch, tmp_path):
    c, dirs = cluster
    bn = fakes[1]
    parts = []
    for i in range(3):
        parts.extend(run(dict(data_dir=dirs[i], delivery="sign", beacon_node_url=bn.url, validators=[FIRST_INDEX],
                              epoch=300, confirm=True), monkeypatch=monkeypatch)["exits"])
    exit_dir = tmp_path / "exits"
    exit_dir.mkdir()
    target = exit_dir / ("exit-%s.json" % _pk(c, 0))
    other = b'{"message":{"epoch":"299","validator_index":"100"},"signature":"0x00"}'
    target.write_bytes(other)
    combine = dict(data_dir=dirs[0], delivery="combine", broadcast=False, exit_dir=str(exit_dir), epoch=300,
                   validators=[_pk(c, 0)], partial_exits=parts, confirm=True)
    msg = fails(combine, monkeypatch)
    assert str(target) in msg and "exists with other content" in msg and "never overwritten" in msg
    assert target.read_bytes() == other
    # a symlink in its place is not followed
    target.unlink()
    decoy = tmp_path / "decoy"
    decoy.write_bytes(b"root-owned file")
    target.symlink_to(decoy)
    assert "not a regular file" in fails(combine, monkeypatch)
    assert decoy.read_bytes() == b"root-owned file" and os.path.islink(str(target))


def test_stale_partial_exit_is_not_reused(cluster, fakes, monkeypatch, tmp_path):
    c, dirs = cluster
    bn = fakes[1]
    args = dict(data_dir=dirs[0], delivery="file", exit_dir=str(tmp_path / "x"), beacon_node_url=bn.url,
                validators=[FIRST_INDEX], epoch=300, confirm=True)
    path = run(args, monkeypatch=monkeypatch)["exits"][0]["file"]
    written = open(path, "rb").read()
    # another epoch: the file (a valid partial of epoch 300) is not this run's partial
    msg = fails(dict(args, epoch=301), monkeypatch)
    assert path in msg and "holds another exit (epoch 300" in msg
    assert open(path, "rb").read() == written
    # same fields, but the signature is another share's: refused, not passed on
    share2 = run(dict(args, data_dir=dirs[1], delivery="sign"), monkeypatch=monkeypatch)["exits"][0]["partial_signature"]
    doc = json.loads(written)
    doc["signed_exit_message"]["signature"] = share2
    os.chmod(path, 0o600)
    with open(path, "w") as f:
        f.write(json.dumps(doc))
    assert "invalid signature" in fails(args, monkeypatch)


def test_keystore_whose_declared_pubkey_is_another_share_is_refused(cluster, fakes, monkeypatch, tmp_path):
    import shutil
    from ansible_collections.dvops.charon.plugins.module_utils import _keystore
    c, dirs = cluster
    bn = fakes[1]
    bad = str(tmp_path / "node0")
    shutil.copytree(dirs[0], bad)
    # node1's keystores (share 1) relabelled as node2's shares: consistent labels, wrong secrets
    for j in range(2):
        path = os.path.join(bad, "validator_keys", "keystore-%d.json" % j)
        doc = json.loads(open(path).read())
        doc["pubkey"] = c.lock.distributed_validators[j].public_shares[1].hex()
        os.chmod(path, 0o600)
        with open(path, "w") as f:
            f.write(json.dumps(doc))
    msg = fails(dict(data_dir=bad, delivery="sign", beacon_node_url=bn.url, confirm=True), monkeypatch)
    assert "keystore-0.json decrypts to a key that is not its public share in the lock" in msg
    # charon's loader as _keystore implements it refuses the same directory (that check is in _keystore.py)
    with pytest.raises(_keystore.KeystoreError, match="pubkey field does not match the decrypted secret"):
        _keystore.load_keystores(os.path.join(bad, "validator_keys"))


def test_offline_combine_needs_partials_except_in_check_mode(cluster, monkeypatch, tmp_path):
    c, dirs = cluster
    args = dict(data_dir=dirs[0], delivery="combine", broadcast=False, exit_dir=str(tmp_path / "e"),
                validators=[_pk(c, 0), FIRST_INDEX + 1], partial_exits=[], confirm=True)
    assert "no partial exit given for validator index %d" % (FIRST_INDEX + 1) in fails(args, monkeypatch)
    # --check: the hosts signed nothing, so there is nothing to combine yet; not an error, nothing written
    res = run(args, check=True, monkeypatch=monkeypatch)
    assert [e["action"] for e in res["exits"]] == ["skip"] and not os.path.exists(str(tmp_path / "e"))
    assert "beacon_node_url: required with delivery=combine" in fails(dict(args, broadcast=True), monkeypatch)
