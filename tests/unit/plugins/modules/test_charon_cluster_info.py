# -*- coding: utf-8 -*-
"""charon_cluster_info run in-process: definition, lock, data dir, bad files, fail_on_error, no secrets out."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.dvops.charon.plugins.module_utils import _cluster
from ansible_collections.dvops.charon.plugins.modules import charon_cluster_info
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster, write_node_dirs

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "..", ".."))
VDIR = os.path.join(os.path.dirname(REPO_ROOT), "shared", "vectors", "charon")
if not os.path.isdir(VDIR):  # a git worktree outside /work: the shared vectors stay there
    VDIR = "/work/shared/vectors/charon"
with open(os.path.join(VDIR, "expected.json")) as _f:
    EXPECTED = json.load(_f)["files"]


def run_raw(capsys, **args):
    """(result, raw stdout) of one in-process module run."""
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            charon_cluster_info.main()
    out = capsys.readouterr().out
    return json.loads(out), out


def run(capsys, **args):
    return run_raw(capsys, **args)[0]


@pytest.fixture(scope="module")
def cluster():
    return build_cluster(seed=b"module", n=4, num_validators=2)


@pytest.fixture()
def node_dirs(cluster, tmp_path):
    return write_node_dirs(cluster, tmp_path)


def test_definition_file(capsys):
    path = os.path.join(VDIR, "cluster-definition-006.json")
    res = run(capsys, path=path)
    exp = EXPECTED["cluster-definition-006.json"]
    assert not res.get("failed") and not res["changed"], res
    assert (res["kind"], res["version"], res["network"], res["fork_version"]) == ("definition", "v1.10.0", "hoodi",
                                                                                  "0x10000910")
    assert (res["name"], res["num_validators"], res["threshold"]) == ("solo flow", 2, 3)
    assert res["config_hash"] == exp["config_hash"] and res["definition_hash"] == exp["definition_hash"]
    assert res["stored"] == {"config_hash": exp["config_hash"], "definition_hash": exp["definition_hash"],
                             "lock_hash": None}
    assert res["lock_hash"] is None and res["validators"] == []
    assert [o["address"] for o in res["operators"]] == [""] * 4
    assert all(o["peer_id"].startswith("16Uiu2HA") and "-" in o["peer_name"] for o in res["operators"])
    assert res["valid"] and res["errors"] == [] and all(res["checks"].values())


def test_lock_file_all_signatures(capsys):
    res = run(capsys, path=os.path.join(VDIR, "cluster-lock-003.json"), network="prater")
    exp = EXPECTED["cluster-lock-003.json"]
    assert not res.get("failed"), res
    assert res["kind"] == "lock" and res["lock_hash"] == exp["lock_hash"] == res["stored"]["lock_hash"]
    assert len(res["validators"]) == 3 and res["checks"]["network"]
    for name in ("operator_signatures", "creator_signature", "node_signatures", "signature_aggregate",
                 "builder_registrations", "public_shares"):
        assert res["checks"][name] is True


def test_lock_wrong_network_fails(capsys):
    res = run(capsys, path=os.path.join(VDIR, "cluster-lock-003.json"), network="mainnet")
    assert res["failed"] and "network" in res["msg"] and "goerli" in res["msg"]
    assert res["checks"]["network"] is False


def test_random_filler_vector_fails_or_reports(capsys):
    path = os.path.join(VDIR, "cluster_lock_v1_10_0.json")
    res = run(capsys, path=path)
    assert res["failed"] and "check(s) failed" in res["msg"] and path in res["msg"]
    res = run(capsys, path=path, fail_on_error=False)
    assert not res.get("failed") and res["valid"] is False
    assert res["lock_hash"] == EXPECTED["cluster_lock_v1_10_0.json"]["lock_hash"]
    assert res["checks"]["lock_hash"] and not res["checks"]["signature_aggregate"]
    assert any(e.startswith("node_signatures:") for e in res["errors"])
    res = run(capsys, path=path, fail_on_error=False, verify_signatures=False)
    assert "signature_aggregate" not in res["checks"] and res["checks"]["lock_hash"]


def test_data_dir(capsys, cluster, node_dirs):
    for i in (0, 3):
        res, out = run_raw(capsys, path=node_dirs[i])
        assert not res.get("failed"), res
        assert res["kind"] == "data_dir" and res["node_index"] == i
        assert res["peer_name"] == res["operators"][i]["peer_name"]
        assert res["deposit_data_files"] == ["deposit-data-1eth.json", "deposit-data.json"]
        assert res["keystores"] == 2
        for name in ("enr_private_key", "keystores", "deposit_data_files"):
            assert res["checks"][name] is True
        assert res["lock_hash"] == "0x" + cluster.lock.lock_hash.hex()
        # No secret anywhere in the output: ENR key, share secrets, keystore passwords.
        with open(os.path.join(node_dirs[i], "charon-enr-private-key")) as f:
            assert f.read() not in out
        for secret in cluster.share_secrets(i):
            assert secret.hex() not in out
        keys = os.path.join(node_dirs[i], "validator_keys")
        for name in os.listdir(keys):
            if name.endswith(".txt"):
                with open(os.path.join(keys, name)) as f:
                    assert f.read() not in out


def test_data_dir_problems(capsys, cluster, node_dirs):
    node0, node1 = node_dirs[0], node_dirs[1]
    # keystores of another node
    shutil.rmtree(os.path.join(node0, "validator_keys"))
    shutil.copytree(os.path.join(node1, "validator_keys"), os.path.join(node0, "validator_keys"))
    # a wrong password
    pw = os.path.join(node1, "validator_keys", "keystore-1.txt")
    os.chmod(pw, 0o600)
    with open(pw, "w") as f:
        f.write("0" * 32)
    # deposit file edited
    dep = os.path.join(node1, "deposit-data.json")
    os.chmod(dep, 0o644)
    entries = json.loads(open(dep).read())
    entries[0]["amount"] = 31000000000
    with open(dep, "w") as f:
        json.dump(entries, f)
    res = run(capsys, path=node0, fail_on_error=False)
    assert res["node_index"] == 0 and res["checks"]["keystores"] is False
    assert "keystore-0: its key is not this node's share (x=1)" in " ".join(res["errors"])
    res = run(capsys, path=node1, fail_on_error=False)
    assert res["checks"]["keystores"] is False and "keystore-1" in " ".join(res["errors"])
    assert "0" * 32 not in json.dumps(res)
    assert res["checks"]["deposit_data_files"] is False
    assert "deposit-data.json[0]" in " ".join(res["errors"])
    # a key that is not an operator's
    key = os.path.join(node1, "charon-enr-private-key")
    os.chmod(key, 0o600)
    with open(key, "w") as f:
        f.write("11" * 32)
    res, out = run_raw(capsys, path=node1)
    assert res["failed"] and res["node_index"] is None and "does not belong to any operator" in res["msg"]
    assert "11" * 32 not in out


def test_pre_dkg_data_dir(capsys, cluster, tmp_path):
    d = tmp_path / ".charon"
    d.mkdir()
    (d / "cluster-definition.json").write_bytes(_cluster.marshal_definition(cluster.definition))
    (d / "charon-enr-private-key").write_bytes(cluster.enr_keys[1].hex().encode())
    res = run(capsys, path=str(d))
    assert not res.get("failed"), res
    assert res["kind"] == "data_dir" and res["node_index"] == 1 and res["lock_hash"] is None
    (d / "cluster-definition.json").unlink()
    res = run(capsys, path=str(d))
    assert res["failed"] and "no cluster-lock.json or cluster-definition.json" in res["msg"]


@pytest.mark.parametrize("content,needle", [
    (b"this is not json", "not valid JSON"),
    (b'{"version": "v2.0.0", "uuid": "x"}', "unsupported definition version"),
    (None, "not valid JSON"),   # truncated lock
    (b'{"cluster_definition": {"version": "v1.7.0"}}', "cluster-lock.json: cluster_definition.uuid: missing"),
])
def test_bad_files_fail_cleanly(capsys, tmp_path, content, needle):
    if content is None:
        with open(os.path.join(VDIR, "cluster-lock-003.json"), "rb") as f:
            content = f.read()[:4000]
    path = tmp_path / "cluster-lock.json"
    path.write_bytes(content)
    for fail_on_error in (True, False):
        res, out = run_raw(capsys, path=str(path), fail_on_error=fail_on_error)
        assert res["failed"] and needle in res["msg"] and str(path) in res["msg"]
        assert "Traceback" not in out


def test_missing_path_and_bad_options(capsys, tmp_path):
    res = run(capsys, path=str(tmp_path / "nope.json"))
    assert res["failed"] and "does not exist" in res["msg"]
    res = run(capsys, path=os.path.join(VDIR, "cluster-definition-006.json"), charon_version="latest")
    assert res["failed"] and res["msg"].startswith("charon_version:")


def test_custom_network(capsys, tmp_path):
    from ansible_collections.dvops.charon.plugins.module_utils import _networks
    try:
        _networks.register_network("devnet-x", 424242, "0x42424242", "0x43424242", 1700000000)
        c = build_cluster(seed=b"custom", n=3, network="devnet-x")
    finally:
        _networks.clear_custom_networks()
    path = tmp_path / "cluster-lock.json"
    path.write_bytes(_cluster.marshal_lock(c.lock))
    res = run(capsys, path=str(path), fail_on_error=False)
    assert not res["valid"] and res["network"] is None
    assert "unknown fork version 0x42424242" in " ".join(res["errors"])
    res = run(capsys, path=str(path), custom_network=dict(
        name="devnet-x", chain_id=424242, genesis_fork_version="0x42424242", capella_fork_version="0x43424242",
        genesis_time=1700000000))
    _networks.clear_custom_networks()
    assert not res.get("failed"), res
    assert res["network"] == "devnet-x" and res["valid"]


def test_check_mode(capsys):
    res = run(capsys, path=os.path.join(VDIR, "cluster-lock-003.json"), _ansible_check_mode=True)
    assert not res.get("failed") and res["valid"] and not res["changed"]


def test_v1_7_data_dir_with_placeholder_deposits(capsys, tmp_path):
    c = build_cluster(seed=b"v17", n=3, num_validators=1, version="v1.7.0", network="goerli")
    node = write_node_dirs(c, tmp_path, nodes=[0])[0]
    assert run(capsys, path=node)["checks"]["deposit_data_files"]
    # Lock carrying charon's placeholder (as in cluster-lock-003): the files are still checked on their own.
    lock = c.lock
    lock.distributed_validators[0].deposit_data = _cluster.DepositData()
    path = os.path.join(node, "cluster-lock.json")
    os.chmod(path, 0o644)
    with open(path, "wb") as f:
        f.write(_cluster.marshal_lock(lock, rehash=False))
    res = run(capsys, path=node, fail_on_error=False)
    assert res["checks"]["deposit_data_files"] is True
    assert res["checks"]["lock_hash"] is False      # the placeholder changed the hashed content


def _unjoined_definition(tmp_path, enrs):
    """An unsigned definition (like `charon create dkg`'s) with operator ENRs replaced, hashes recomputed."""
    d = build_cluster(seed=b"unjoined", n=4, num_validators=1, signed=False).definition
    d = _cluster.parse_definition(_cluster.marshal_definition(d))
    for k, enr in enrs.items():
        d.operators[k].enr = enr
    _cluster.fill_definition_hashes(d)
    path = tmp_path / "cluster-definition.json"
    path.write_bytes(_cluster.marshal_definition(d))
    return str(path)


def test_definition_valid_like_charon_but_not_ready(capsys, tmp_path):
    # charon's Definition.VerifyHashes/VerifySignatures hash and sign the ENR text and never parse it: an operator
    # that has not joined (empty ENR) or a broken ENR leaves the definition valid, not ready for the DKG.
    path = _unjoined_definition(tmp_path, {1: "", 2: "enr:-not-a-record"})
    res = run(capsys, path=path)
    assert not res.get("failed"), res
    assert res["valid"] and res["errors"] == [] and "operator_enrs" not in res["checks"]
    assert res["ceremony_ready"] is False
    problems = res["ceremony_problems"]
    assert len(problems) == 2
    assert problems[0].startswith("operators[1].enr: empty") and "not joined" in problems[0]
    assert problems[1].startswith("operators[2].enr: not a valid ENR")
    assert res["operators"][1]["peer_id"] is None and res["operators"][0]["peer_id"].startswith("16Uiu2HA")


def test_definition_ready_and_duplicate_peer(capsys, tmp_path):
    c = build_cluster(seed=b"unjoined", n=4, num_validators=1, signed=False)
    res = run(capsys, path=_unjoined_definition(tmp_path, {}))
    assert res["valid"] and res["ceremony_ready"] and res["ceremony_problems"] == []
    res = run(capsys, path=_unjoined_definition(tmp_path, {3: c.enrs[0]}))
    assert res["valid"] and not res["ceremony_ready"]
    assert res["ceremony_problems"] == ["operators[3].enr: the same peer as operators[0]"]


def test_lock_with_a_broken_enr_stays_invalid(capsys, cluster, tmp_path):
    # A lock's node signatures need every ENR: there it stays part of validity.
    lock = _cluster.parse_lock(cluster.lock_json)
    lock.definition.operators[1].enr = "enr:-broken"
    path = tmp_path / "cluster-lock.json"
    path.write_bytes(_cluster.marshal_lock(lock))
    res = run(capsys, path=str(path), fail_on_error=False)
    assert not res["valid"] and res["checks"]["operator_enrs"] is False and not res["ceremony_ready"]


@pytest.mark.parametrize("content", ["[" * 100000, '{"a":' * 50000], ids=["array", "object"])
def test_deeply_nested_json_is_a_named_error(capsys, tmp_path, content):
    # json.loads raises RecursionError (not ValueError) on such input: a named error, no traceback.
    path = tmp_path / "cluster-definition.json"
    path.write_text(content)
    res = run(capsys, path=str(path))
    assert res["failed"] and "nested too deeply" in res["msg"] and str(path) in res["msg"]
    res = run(capsys, path=str(tmp_path))
    assert res["failed"] and "nested too deeply" in res["msg"]


def test_deeply_nested_deposit_file_is_reported(capsys, node_dirs):
    d = node_dirs[0]
    with open(os.path.join(d, "deposit-data-9eth.json"), "w") as f:
        f.write("[" * 100000)
    res = run(capsys, path=d, fail_on_error=False)
    assert not res["valid"] and any("deposit-data-9eth.json" in e for e in res["errors"]), res["errors"]
