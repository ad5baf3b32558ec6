# -*- coding: utf-8 -*-
"""Tests that kill dv_exit's surviving refusal mutants (issue 10, full mutation run over main after
the hardening merge): every bad keystore directory, password file, exit_dir, owner, existing file
and offline selection is a named failure (never a traceback, never a silent pass), and nothing is
signed or written.  Beacon node and charon APIs are the FAKEs of tests/integration/fake_beacon.py."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from ansible_collections.dvops.charon.tests.unit.plugins.modules.test_dv_exit import (  # noqa: F401  # pylint: disable=unused-import
    FIRST_INDEX, _pk, cluster, fails, fakes, run)


@pytest.fixture
def node(cluster, tmp_path):
    """A copy of node 1's directory (share 1) to spoil."""
    path = str(tmp_path / "node0")
    shutil.copytree(cluster[1][0], path)
    return path


def _keys(node, name):
    return os.path.join(node, "validator_keys", name)


def _sign(node, fakes, **kw):
    return dict(dict(data_dir=node, delivery="sign", beacon_node_url=fakes[1].url, confirm=True), **kw)


def _replace(path, data):
    os.chmod(path, 0o600)
    with open(path, "wb") as f:
        f.write(data)


def test_keystore_that_cannot_be_read_or_parsed_is_named(node, fakes, monkeypatch):
    path = _keys(node, "keystore-1.json")
    _replace(path, b"{not json")
    assert "%s is not JSON" % path in fails(_sign(node, fakes), monkeypatch)
    os.unlink(path)
    os.mkdir(path)   # a directory where the keystore belongs: open() fails
    msg = fails(_sign(node, fakes), monkeypatch)
    assert "cannot read %s: Is a directory" % path in msg


def test_no_keystores_is_named(node, fakes, monkeypatch):
    for name in os.listdir(os.path.join(node, "validator_keys")):
        os.unlink(_keys(node, name))
    msg = fails(_sign(node, fakes), monkeypatch)
    assert "no keystore-<i>.json in %s: this host holds no key shares" % os.path.join(node, "validator_keys") in msg


def test_keystore_beyond_the_lock_is_named(node, fakes, monkeypatch):
    shutil.copy(_keys(node, "keystore-1.json"), _keys(node, "keystore-2.json"))
    msg = fails(_sign(node, fakes), monkeypatch)
    assert "keystore-2.json: the lock has only 2 validators" in msg


def test_keystores_of_other_or_mixed_shares_are_named(cluster, node, fakes, monkeypatch):
    c = cluster[0]
    path = _keys(node, "keystore-1.json")
    doc = json.loads(open(path).read())
    doc["pubkey"] = "ab" * 48   # no public share of validator 1
    _replace(path, json.dumps(doc).encode())
    assert "keystore-1.json holds a share that is not in the lock's public shares of validator 1" in fails(
        _sign(node, fakes), monkeypatch)
    doc["pubkey"] = c.lock.distributed_validators[1].public_shares[1].hex()   # share 2 next to share 1
    _replace(path, json.dumps(doc).encode())
    assert "keystore-1.json is share 2 but other keystores are share 1" in fails(_sign(node, fakes), monkeypatch)


def test_password_file_missing_or_not_utf8_is_named(node, fakes, monkeypatch):
    pw = _keys(node, "keystore-0.txt")
    _replace(pw, b"\xff\xfe not utf-8")
    assert "the keystore password %s is not UTF-8" % pw in fails(_sign(node, fakes), monkeypatch)
    os.unlink(pw)
    assert "cannot read the keystore password %s: No such file or directory" % pw in fails(
        _sign(node, fakes), monkeypatch)


def test_unknown_owner_is_named(node, fakes, monkeypatch, tmp_path):
    for field in ("owner", "group"):
        msg = fails(_sign(node, fakes, delivery="file", exit_dir=str(tmp_path / "x"),
                          **{field: "no-such-name-dvops"}), monkeypatch)
        assert "%s: 'no-such-name-dvops' is not a known %s name or a numeric id" % (
            field, "user" if field == "owner" else "group") in msg
        assert not os.path.exists(str(tmp_path / "x"))


def test_exit_dir_that_is_a_link_a_file_or_cannot_be_made_is_named(node, fakes, monkeypatch, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    msg = fails(_sign(node, fakes, delivery="file", exit_dir=str(link)), monkeypatch)
    assert "exit_dir: %s is a symbolic link" % link in msg and os.listdir(str(real)) == []
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert "exit_dir: cannot create %s: File exists" % a_file in fails(
        _sign(node, fakes, delivery="file", exit_dir=str(a_file)), monkeypatch)
    under = a_file / "exits"
    assert "exit_dir: cannot create %s" % under in fails(
        _sign(node, fakes, delivery="file", exit_dir=str(under)), monkeypatch)
    assert a_file.read_text() == "x"


def test_existing_partial_that_is_not_a_partial_or_not_a_file_is_named(cluster, node, fakes, monkeypatch, tmp_path):
    c = cluster[0]
    exit_dir = tmp_path / "x"
    args = _sign(node, fakes, delivery="file", exit_dir=str(exit_dir), validators=[FIRST_INDEX], epoch=300)
    path = run(args, monkeypatch=monkeypatch)["exits"][0]["file"]
    _replace(path, b"[1, 2")
    msg = fails(args, monkeypatch)
    assert "%s exists but cannot be read as a partial exit" % path in msg and "never overwritten" in msg
    assert open(path, "rb").read() == b"[1, 2"
    # a mapping that carries no partial at all is named as another exit, not a crash
    _replace(path, b"{}")
    msg = fails(args, monkeypatch)
    assert "%s exists but holds another exit (epoch None, index None)" % path in msg and "never overwritten" in msg
    assert open(path, "rb").read() == b"{}"
    # a directory in place of a full exit file is refused, not written into
    full = exit_dir / ("exit-%s.json" % _pk(c, 0))
    full.mkdir()
    parts = []
    for i in range(3):
        parts.extend(run(dict(data_dir=cluster[1][i], delivery="sign", beacon_node_url=fakes[1].url,
                              validators=[FIRST_INDEX], epoch=300, confirm=True), monkeypatch=monkeypatch)["exits"])
    combine = dict(data_dir=node, delivery="combine", broadcast=False, exit_dir=str(exit_dir), epoch=300,
                   validators=[_pk(c, 0)], partial_exits=parts, confirm=True)
    assert "%s exists and is not a regular file" % full in fails(combine, monkeypatch)
    assert os.listdir(str(full)) == []


def test_offline_selection_refusals(cluster, node, fakes, monkeypatch, tmp_path):
    c = cluster[0]
    parts = run(dict(data_dir=cluster[1][0], delivery="sign", beacon_node_url=fakes[1].url, validators=[FIRST_INDEX],
                     epoch=300, confirm=True), monkeypatch=monkeypatch)["exits"]
    other = dict(parts[0], validator_index=FIRST_INDEX + 7)
    combine = dict(data_dir=node, delivery="combine", broadcast=False, exit_dir=str(tmp_path / "e"), epoch=300,
                   partial_exits=parts + [other], confirm=True)
    msg = fails(combine, monkeypatch)
    assert "partial_exits: validator %s has partials for several indices [%d, %d]" % (
        _pk(c, 0), FIRST_INDEX, FIRST_INDEX + 7) in msg
    msg = fails(dict(combine, partial_exits=parts, validators=["0x" + "cd" * 48]), monkeypatch)
    assert "unknown validator 0x%s (validators[0])" % ("cd" * 48) in msg
    assert not os.path.exists(str(tmp_path / "e"))


def test_exit_dir_replaced_by_a_file_meanwhile_is_named(node, fakes, monkeypatch, tmp_path):
    from ansible_collections.dvops.charon.plugins.modules import dv_exit
    exit_dir = tmp_path / "x"
    exit_dir.mkdir()
    real_ensure = dv_exit._files.ensure_dir

    def racing_ensure(path, **kw):
        # FAKE race: the directory was there when looked at, a file is there right after.
        out = real_ensure(path, **kw)
        if path == str(exit_dir) and os.path.isdir(path):
            shutil.rmtree(path)
            with open(path, "w") as f:
                f.write("x")
        return out
    monkeypatch.setattr(dv_exit._files, "ensure_dir", racing_ensure)
    msg = fails(_sign(node, fakes, delivery="file", exit_dir=str(exit_dir)), monkeypatch)
    assert "exit_dir: %s exists and is not a directory" % exit_dir in msg
    assert exit_dir.read_text() == "x"
