# -*- coding: utf-8 -*-
"""charon_dkg refusals the full mutation run over main (after the hardening merge) found untested
(issue 10): unknown group, an unusable key file, a definition file that is a link / not UTF-8,
and every way a ceremony state can be damaged.
Each is a named failure that leaves the files alone."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.dvops.charon.tests.unit.plugins.modules.test_charon_dkg import _create, _node_dirs0, run0


def test_unknown_group_is_refused_before_the_definition_is_written(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    one = _create(capsys, dirs)["definition"]
    res = run0(capsys, phase="prepare", data_dir=dirs[0], definition=one, group="no-such-group-dvops")
    assert res["failed"] and "owner/group: %s/no-such-group-dvops do not exist on this host" % os.getuid() in res["msg"]
    assert not os.path.exists(os.path.join(dirs[0], "cluster-definition.json"))


def test_unusable_key_file_is_named(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    key = os.path.join(dirs[0], "charon-enr-private-key")
    with open(key, "w") as f:
        f.write("not a key")
    res = run0(capsys, phase="status", data_dir=dirs[0])
    assert res["failed"] and key in res["msg"] and "not a key" not in res["msg"]
    assert open(key).read() == "not a key"


def test_definition_file_that_is_a_link_or_not_utf8_is_named(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    path = os.path.join(dirs[0], "cluster-definition.json")
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{}")
    os.symlink(str(elsewhere), path)
    res = run0(capsys, phase="status", data_dir=dirs[0])
    assert res["failed"] and "(expected the definition itself): move it away" in res["msg"]
    os.unlink(path)
    with open(path, "wb") as f:
        f.write(b"\xff\xfe{}")
    res = run0(capsys, phase="status", data_dir=dirs[0])
    assert res["failed"] and res["msg"] == "%s is not UTF-8 text, so not a definition: move it away or restore it" % path


@pytest.fixture
def after_round1(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    one = _create(capsys, dirs)["definition"]
    for d in dirs:
        assert not run0(capsys, phase="prepare", data_dir=d, definition=one).get("failed")
    msgs = [run0(capsys, phase="round1", data_dir=d)["message"] for d in dirs]
    path = os.path.join(dirs[0], ".dvops-dkg-state.json")
    return dirs, msgs, path, json.loads(open(path).read())


@pytest.mark.parametrize("damage", ["round 99", "no index", "index as text", "index as bool", "hash as number",
                                    "digest as number"])
def test_damaged_ceremony_state_is_named(after_round1, capsys, damage):
    dirs, msgs, path, state = after_round1
    key, value = {"round 99": ("round", 99), "no index": ("index", None), "index as text": ("index", "1"),
                  "index as bool": ("index", True), "hash as number": ("definition_hash", 5),
                  "digest as number": ("message_digest", 5)}[damage]
    if value is None:
        del state[key]
    else:
        state[key] = value
    os.chmod(path, 0o600)
    with open(path, "w") as f:
        f.write(json.dumps(state))
    res = run0(capsys, phase="round2", data_dir=dirs[0], messages=msgs, operator_names=["a", "b", "c"])
    assert res["failed"] and res["msg"] == ("the ceremony state %s is damaged or from another version: restart the "
                                            "ceremony (rerun the play)" % path)


def test_unreadable_ceremony_state_is_named(after_round1, capsys):
    dirs, msgs, path, state = after_round1
    os.chmod(path, 0o600)
    with open(path, "w") as f:
        f.write("{not json")
    res = run0(capsys, phase="round2", data_dir=dirs[0], messages=msgs, operator_names=["a", "b", "c"])
    assert res["failed"] and res["msg"] == ("the ceremony state %s cannot be used (JSONDecodeError): restart the ceremony "
                                            "(rerun the play)" % path)
