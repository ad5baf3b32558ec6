# -*- coding: utf-8 -*-
"""charon_dkg run in-process for three nodes: the phases end to end, done detection, refusals, the charon
engine's collect path, and no secret in any result."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _dkg, _enr, _k1
from ansible_collections.dvops.charon.plugins.modules import charon_dkg

UID, GID = os.getuid(), os.getgid()
NAMES = ["a", "b", "c"]


def run(capsys, **args):
    args.setdefault("owner", str(UID))
    args.setdefault("group", str(GID))
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            charon_dkg.main()
    out = capsys.readouterr().out
    return json.loads(out), out


def _node_dirs0(tmp_path):
    return _node_dirs(tmp_path)[0]


def run0(capsys, **args):
    return run(capsys, **args)[0]


def _node_dirs(tmp_path):
    dirs, keys = [], []
    for name in NAMES:
        d = tmp_path / name / ".charon"
        d.mkdir(parents=True)
        key = _k1.generate_private_key()
        (d / "charon-enr-private-key").write_bytes(_enr.format_private_key(key))
        os.chmod(str(d / "charon-enr-private-key"), 0o600)
        dirs.append(str(d))
        keys.append(key)
    return dirs, keys


def _create(capsys, dirs, **over):
    status = [run(capsys, phase="status", data_dir=d)[0] for d in dirs]
    create = {"name": "unit", "operator_enrs": [s["enr"] for s in status], "num_validators": 1, "network": "hoodi",
              "fee_recipient_addresses": "0x" + "11" * 20, "withdrawal_addresses": "0x" + "22" * 20}
    create.update(over)
    res = run0(capsys, phase="definition", data_dir=dirs[0], create=create,
               existing_definitions=[s["definition"] for s in status])
    assert not res.get("failed"), res
    return res


def _ceremony(capsys, dirs, definition):
    outputs = []
    for d in dirs:
        res, out = run(capsys, phase="prepare", data_dir=d, definition=definition)
        assert not res.get("failed"), res
        outputs.append(out)
    msgs = []
    for phase in ("round1", "round2", "round3", "finish"):
        new = []
        for d in dirs:
            res, out = run(capsys, phase=phase, data_dir=d, messages=msgs, operator_names=NAMES)
            assert not res.get("failed"), res
            outputs.append(out)
            new.append(res.get("message"))
        msgs = new
    return res, outputs


def test_full_ceremony_then_done_and_no_secrets(tmp_path, capsys):
    dirs, keys = _node_dirs(tmp_path)
    definition = _create(capsys, dirs)
    assert definition["source"] == "created"
    assert json.loads(definition["definition"])["dkg_algorithm"] == _dkg.ALGORITHM
    res, outputs = _ceremony(capsys, dirs, definition["definition"])
    assert res["changed"] and res["lock_hash"].startswith("0x")
    hashes = set()
    for d in dirs:
        lock = _cluster.load_file(os.path.join(d, "cluster-lock.json"))
        assert _cluster.verify_lock(lock).valid
        hashes.add(bytes(lock.lock_hash))
        assert sorted(os.listdir(os.path.join(d, "validator_keys"))) == ["keystore-0.json", "keystore-0.txt"]
        assert not os.path.exists(os.path.join(d, ".dvops-dkg-state.json"))
    assert len(hashes) == 1
    # Nothing secret in any module output: passwords and ENR keys never, and no share field.
    text = "\n".join(outputs)
    for d, key in zip(dirs, keys):
        assert open(os.path.join(d, "validator_keys", "keystore-0.txt")).read() not in text
        assert key.hex() not in text
    assert "self_shares" not in text and '"shares": [' not in text

    # A rerun: the existing definition is reused, prepare reports done, unchanged.
    again = _create(capsys, dirs)
    assert again["source"] == "existing" and again["definition"] == definition["definition"]
    lock_hash = "0x" + hashes.pop().hex()
    for d in dirs:
        res = run0(capsys, phase="prepare", data_dir=d, definition=again["definition"])
        assert res["done"] and not res["changed"] and res["lock_hash"] == lock_hash


def test_dirty_data_dir_is_refused_and_left_alone(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    definition = _create(capsys, dirs)["definition"]
    stray = os.path.join(dirs[1], "deposit-data-old.json")
    open(stray, "w").write("[]")
    res = run0(capsys, phase="prepare", data_dir=dirs[1], definition=definition)
    assert res["failed"] and "data directory not clean" in res["msg"] and "deposit-data-old.json" in res["msg"]
    assert open(stray).read() == "[]"


def test_host_not_in_definition(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    other = _create(capsys, dirs[:2])  # c's ENR is not in it
    res = run0(capsys, phase="prepare", data_dir=dirs[2], definition=other["definition"])
    assert res["failed"] and "is not an operator in the definition" in res["msg"]


def test_native_engine_refuses_a_charon_algorithm(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    definition = _create(capsys, dirs, dkg_algorithm="pedersen")["definition"]
    res = run0(capsys, phase="prepare", data_dir=dirs[0], definition=definition)
    assert res["failed"] and "dvops_dkg_engine=charon" in res["msg"] and "'pedersen'" in res["msg"]
    res = run0(capsys, phase="prepare", data_dir=dirs[0], definition=definition, engine="charon")
    assert not res.get("failed"), res


def test_native_definitions_use_charons_name_for_frost(tmp_path, capsys):
    # charon v1.10.3 (dkg/dkg.go) runs only default/frost/pedersen; add-validators reads the lock's value.
    assert _dkg.ALGORITHM == "frost" and _dkg.ALGORITHM in _dkg.CHARON_ALGORITHMS
    dirs = _node_dirs0(tmp_path)
    # A `charon create dkg` definition ("default" = FROST in v1.10.3) runs on both engines.
    default = _create(capsys, dirs, dkg_algorithm="default")["definition"]
    for engine in ("native", "charon"):
        res = run0(capsys, phase="prepare", data_dir=dirs[0], definition=default, engine=engine)
        assert not res.get("failed"), res


def test_legacy_native_algorithm_native_only(tmp_path, capsys):
    # Definitions of earlier releases stay usable by the native engine; charon dkg would stop on them
    # ("unsupported dkg algorithm" after all peers connected), so the charon engine refuses them up front.
    dirs = _node_dirs0(tmp_path)
    legacy = _create(capsys, dirs, dkg_algorithm=_dkg.LEGACY_ALGORITHM)["definition"]
    assert json.loads(legacy)["dkg_algorithm"] == "dvops-frost-keygen-v1"
    res = run0(capsys, phase="prepare", data_dir=dirs[1], definition=legacy, engine="charon")
    assert res["failed"] and "unsupported dkg algorithm" in res["msg"] and "dvops_dkg_engine=native" in res["msg"]
    assert not os.path.exists(os.path.join(dirs[1], "cluster-definition.json"))
    res, _out = _ceremony(capsys, dirs, legacy)
    lock = _cluster.load_file(os.path.join(dirs[0], "cluster-lock.json"))
    assert lock.definition.dkg_algorithm == _dkg.LEGACY_ALGORITHM and _cluster.verify_lock(lock).valid


def test_threshold_rules_and_different_existing_definitions(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    status = [run(capsys, phase="status", data_dir=d)[0] for d in dirs]
    create = {"name": "t", "operator_enrs": [s["enr"] for s in status], "num_validators": 1, "threshold": 1,
              "fee_recipient_addresses": "0x" + "11" * 20, "withdrawal_addresses": "0x" + "22" * 20}
    res = run0(capsys, phase="definition", data_dir=dirs[0], create=create)
    assert res["failed"] and "threshold" in res["msg"]
    one = _create(capsys, dirs)["definition"]
    two = _create(capsys, dirs, name="other")["definition"]
    res = run0(capsys, phase="definition", data_dir=dirs[0], existing_definitions=[one, two, None])
    assert res["failed"] and "different cluster-definition.json" in res["msg"]
    res = run0(capsys, phase="definition", data_dir=dirs[0], existing_definitions=[one, None, None], definition=two)
    assert res["failed"] and "move the old one away" in res["msg"]


def test_missing_key_and_missing_state(tmp_path, capsys):
    d = tmp_path / ".charon"
    d.mkdir()
    res = run0(capsys, phase="status", data_dir=str(d))
    assert res["failed"] and "create the node identity first" in res["msg"]
    dirs = _node_dirs0(tmp_path / "x")
    definition = _create(capsys, dirs)["definition"]
    run(capsys, phase="prepare", data_dir=dirs[0], definition=definition)
    res = run0(capsys, phase="round2", data_dir=dirs[0], messages=[])
    assert res["failed"] and "no ceremony state" in res["msg"]


def test_round1_then_cleanup_removes_state(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    definition = _create(capsys, dirs)["definition"]
    run(capsys, phase="prepare", data_dir=dirs[0], definition=definition)
    res = run0(capsys, phase="round1", data_dir=dirs[0])
    state = os.path.join(dirs[0], ".dvops-dkg-state.json")
    assert oct(os.stat(state).st_mode & 0o777) == "0o600"
    res = run0(capsys, phase="cleanup", data_dir=dirs[0])
    assert res["changed"] and not os.path.exists(state)
    res = run0(capsys, phase="cleanup", data_dir=dirs[0])
    assert not res["changed"]


def test_charon_engine_collect_verifies_then_moves(tmp_path, capsys):
    # A native run stands in for what `charon dkg` would have written (same files, same formats).
    dirs = _node_dirs0(tmp_path / "native")
    definition = _create(capsys, dirs)["definition"]
    _ceremony(capsys, dirs, definition)
    target = tmp_path / "charon" / ".charon"
    target.mkdir(parents=True)
    shutil.copy(os.path.join(dirs[0], "charon-enr-private-key"), str(target))
    run(capsys, phase="prepare", data_dir=str(target), definition=definition, engine="charon")
    res = run0(capsys, phase="charon_stage", data_dir=str(target))
    stage = res["stage_dir"]
    assert os.path.samefile(os.path.join(stage, "charon-enr-private-key"), str(target / "charon-enr-private-key"))
    # Output of another node (wrong shares for this key) is refused, nothing moved.
    for name in os.listdir(dirs[1]):
        if name in ("cluster-lock.json", "validator_keys") or name.startswith("deposit-data"):
            src = os.path.join(dirs[1], name)
            (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(stage, name))
    res = run0(capsys, phase="charon_collect", data_dir=str(target))
    assert res["failed"] and "not this operator's public share" in res["msg"]
    assert not os.path.exists(str(target / "cluster-lock.json"))
    run(capsys, phase="cleanup", data_dir=str(target))
    res = run0(capsys, phase="charon_stage", data_dir=str(target))
    for name in os.listdir(dirs[0]):
        if name in ("cluster-lock.json", "validator_keys") or name.startswith("deposit-data"):
            src = os.path.join(dirs[0], name)
            (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(stage, name))
    res = run0(capsys, phase="charon_collect", data_dir=str(target))
    assert not res.get("failed"), res
    assert os.path.exists(str(target / "cluster-lock.json")) and not os.path.exists(stage)
    assert os.path.exists(str(target / "charon-enr-private-key"))


def _given_with_enrs(dirs, capsys, enrs):
    """A valid unsigned definition of the three nodes whose ENRs were then replaced (hashes recomputed)."""
    d = _cluster.parse_definition(_create(capsys, dirs, dkg_algorithm="default")["definition"])
    for k, enr in enrs.items():
        d.operators[k].enr = enr
    _cluster.fill_definition_hashes(d)
    return _cluster.marshal_definition(d).decode()


@pytest.mark.parametrize("engine", ["native", "charon"])
def test_duplicate_or_malformed_enrs_refused_before_the_ceremony(tmp_path, capsys, engine):
    dirs = _node_dirs0(tmp_path)
    status = [run0(capsys, phase="status", data_dir=d) for d in dirs]
    create = {"operator_enrs": [s["enr"] for s in status]}
    # Operator 2 lists node a's ENR again (b's missing): named with the field and the host whose ENR it is.
    dup = _given_with_enrs(dirs, capsys, {1: status[0]["enr"]})
    res = run0(capsys, phase="definition", data_dir=dirs[0], definition=dup, create=create, operator_names=NAMES)
    assert res["failed"] and "operators[1].enr (host a): the same peer as operators[0]" in res["msg"], res["msg"]
    bad = _given_with_enrs(dirs, capsys, {2: "enr:-garbage"})
    res = run0(capsys, phase="definition", data_dir=dirs[0], definition=bad, create=create, operator_names=NAMES)
    assert res["failed"] and "operators[2].enr: not a valid ENR" in res["msg"], res["msg"]
    empty = _given_with_enrs(dirs, capsys, {2: ""})
    # prepare (per host, both engines) refuses too, before writing anything.
    res = run0(capsys, phase="prepare", data_dir=dirs[0], definition=empty, engine=engine)
    assert res["failed"] and "operators[2].enr: empty" in res["msg"] and "not ready for the DKG" in res["msg"]
    assert not os.path.exists(os.path.join(dirs[0], "cluster-definition.json"))


def test_two_hosts_with_one_key_named(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    shutil.copy(os.path.join(dirs[0], "charon-enr-private-key"), os.path.join(dirs[2], "charon-enr-private-key"))
    status = [run0(capsys, phase="status", data_dir=d) for d in dirs]
    create = {"name": "dup", "operator_enrs": [s["enr"] for s in status], "num_validators": 1, "network": "hoodi",
              "fee_recipient_addresses": "0x" + "11" * 20, "withdrawal_addresses": "0x" + "22" * 20}
    res = run0(capsys, phase="definition", data_dir=dirs[0], create=create, operator_names=NAMES)
    assert res["failed"] and "operators[2].enr (hosts a, c): the same peer as operators[0]" in res["msg"], res["msg"]
