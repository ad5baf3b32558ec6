# -*- coding: utf-8 -*-
"""Tests that kill charon_dkg's surviving refusal mutants (issue 10): prepare with another definition
on disk, finish with a lock that does not verify, the final move with a file in the way."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.dvops.charon.plugins.modules import charon_dkg
from ansible_collections.dvops.charon.tests.unit.plugins.modules.test_charon_dkg import (
    NAMES, _create, _node_dirs, run, run0)


def _listing(d):
    return sorted(os.listdir(d))


def test_prepare_refuses_another_definition_on_disk(tmp_path, capsys):
    dirs = _node_dirs(tmp_path)[0]
    one = _create(capsys, dirs)["definition"]
    two = _create(capsys, dirs, name="another cluster")["definition"]
    res = run0(capsys, phase="prepare", data_dir=dirs[0], definition=one)
    assert not res.get("failed") and res["changed"], res
    path = os.path.join(dirs[0], "cluster-definition.json")
    before = open(path, "rb").read()
    res = run0(capsys, phase="prepare", data_dir=dirs[0], definition=two)
    assert res["failed"] and "holds another definition (%s)" % json.loads(one)["definition_hash"] in res["msg"]
    assert "move it away to join cluster %s" % json.loads(two)["definition_hash"] in res["msg"]
    assert open(path, "rb").read() == before
    # The same definition again is fine and changes nothing.
    res = run0(capsys, phase="prepare", data_dir=dirs[0], definition=one)
    assert not res.get("failed") and not res["changed"], res


def test_prepare_refuses_an_unreadable_definition_on_disk(tmp_path, capsys):
    dirs = _node_dirs(tmp_path)[0]
    one = _create(capsys, dirs)["definition"]
    path = os.path.join(dirs[0], "cluster-definition.json")
    with open(path, "w") as f:
        f.write('{"name": "broken"')
    res = run0(capsys, phase="prepare", data_dir=dirs[0], definition=one)
    assert res["failed"] and "is not a valid definition" in res["msg"] and "move it away" in res["msg"]
    assert open(path).read() == '{"name": "broken"'


def test_prepare_refuses_a_definition_that_does_not_verify(tmp_path, capsys):
    dirs = _node_dirs(tmp_path)[0]
    obj = json.loads(_create(capsys, dirs)["definition"])
    obj["name"] = "changed after hashing"
    res = run0(capsys, phase="prepare", data_dir=dirs[0], definition=json.dumps(obj))
    assert res["failed"] and "definition does not verify" in res["msg"] and "definition_hash" in res["msg"]
    assert not os.path.exists(os.path.join(dirs[0], "cluster-definition.json"))
    res = run0(capsys, phase="prepare", data_dir=dirs[0])
    assert res["failed"] and "definition: required for phase prepare" in res["msg"]


def _until_round3(capsys, dirs, definition):
    for d in dirs:
        res = run0(capsys, phase="prepare", data_dir=d, definition=definition)
        assert not res.get("failed"), res
    msgs = []
    for phase in ("round1", "round2", "round3"):
        new = []
        for d in dirs:
            res = run0(capsys, phase=phase, data_dir=d, messages=msgs, operator_names=NAMES)
            assert not res.get("failed"), res
            new.append(res["message"])
        msgs = new
    return msgs


def test_finish_refuses_an_assembled_lock_that_does_not_verify(tmp_path, capsys):
    """All round-3 messages agree and are signed, but this host's state holds a lock body other than
    the one they signed (a corrupted or tampered state file): only the check of the assembled lock
    sees it, and nothing may be written."""
    dirs = _node_dirs(tmp_path)[0]
    definition = _create(capsys, dirs)["definition"]
    msgs = _until_round3(capsys, dirs, definition)
    state_path = os.path.join(dirs[0], ".dvops-dkg-state.json")
    with open(state_path) as f:
        state = json.load(f)
    dv = state["lock"]["distributed_validators"][0]
    dv["builder_registration"]["message"]["gas_limit"] += 1
    with open(state_path, "w") as f:
        json.dump(state, f)
    before = _listing(dirs[0])
    res = run0(capsys, phase="finish", data_dir=dirs[0], messages=msgs, operator_names=NAMES)
    assert res["failed"] and "the assembled lock does not verify" in res["msg"], res
    assert not os.path.exists(os.path.join(dirs[0], "cluster-lock.json"))
    assert [n for n in _listing(dirs[0]) if n not in before] == []
    assert not any(n.startswith("deposit-data") or n == "validator_keys" for n in _listing(dirs[0]))
    # The other hosts are not affected.
    res = run0(capsys, phase="finish", data_dir=dirs[1], messages=msgs, operator_names=NAMES)
    assert not res.get("failed"), res


def test_finish_names_the_culprit(tmp_path, capsys):
    dirs = _node_dirs(tmp_path)[0]
    definition = _create(capsys, dirs)["definition"]
    msgs = _until_round3(capsys, dirs, definition)
    msgs[1] = dict(msgs[1], body=dict(msgs[1]["body"], lock_hash="0x" + "00" * 32))
    res = run0(capsys, phase="finish", data_dir=dirs[0], messages=msgs, operator_names=NAMES)
    assert res["failed"] and res["culprit"] == 1 and "[operator 2 = b]" in res["msg"], res
    assert res["msg"].startswith("DKG aborted (finish): ")


def test_move_into_place_never_replaces(tmp_path):
    tmp, data = tmp_path / "tmp", tmp_path / "data"
    tmp.mkdir()
    data.mkdir()
    for name in ("deposit-data.json", "cluster-lock.json"):
        (tmp / name).write_text("new " + name)
    (data / "cluster-lock.json").write_text("theirs")
    with pytest.raises(charon_dkg.Fail, match="cluster-lock.json appeared during the ceremony; nothing was moved or overwritten"):
        charon_dkg._move_into_place(str(tmp), str(data), ["cluster-lock.json", "deposit-data.json"])  # pylint: disable=protected-access
    assert (data / "cluster-lock.json").read_text() == "theirs"
    # The lock goes last: the deposit file moved before the refusal, the lock did not.
    assert (tmp / "cluster-lock.json").read_text() == "new cluster-lock.json"


def test_round_phases_refuse_a_missing_definition(tmp_path, capsys):
    dirs = _node_dirs(tmp_path)[0]
    res = run0(capsys, phase="round1", data_dir=dirs[0])
    assert res["failed"] and "(run phase prepare first)" in res["msg"]
    res = run0(capsys, phase="prepare", data_dir=str(tmp_path / "absent"), definition="{}")
    assert res["failed"] and res["msg"].startswith("data_dir: ") and "does not exist" in res["msg"]


def test_unknown_owner_is_refused(tmp_path, capsys):
    dirs = _node_dirs(tmp_path)[0]
    definition = _create(capsys, dirs)["definition"]
    res = run0(capsys, phase="prepare", data_dir=dirs[0], definition=definition, owner="no-such-user-dvops")
    assert res["failed"] and "owner/group: no-such-user-dvops/" in res["msg"]
    assert not os.path.exists(os.path.join(dirs[0], "cluster-definition.json"))


def test_result_carries_no_traceback_on_bad_messages(tmp_path, capsys):
    dirs = _node_dirs(tmp_path)[0]
    definition = _create(capsys, dirs)["definition"]
    for d in dirs:
        run(capsys, phase="prepare", data_dir=d, definition=definition)
    run(capsys, phase="round1", data_dir=dirs[0])
    res = run0(capsys, phase="round2", data_dir=dirs[0], messages=[{"body": {"sender": 9}}], operator_names=NAMES)
    assert res["failed"] and "no valid sender index" in res["msg"] and "Traceback" not in json.dumps(res)
