# -*- coding: utf-8 -*-
"""_verified: the digest that lets a rerun skip the full data dir check covers every file the check
reads, and the remembered result is used only for the same files, options and data dir."""

from __future__ import annotations

import json
import os
import shutil
import stat

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _files, _verified
from ansible_collections.dvops.charon.plugins.modules import charon_cluster_info
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster, write_node_dirs

OPTIONS = {"verify_signatures": True, "network": None, "charon_version": "v1.10.3", "custom_network": None}


@pytest.fixture(scope="module")
def cluster():
    return build_cluster(seed=b"verified", n=4, num_validators=2)


@pytest.fixture()
def node(cluster, tmp_path):
    # A definition next to the lock too, as the DKG leaves it: the digest must cover it as well.
    d = write_node_dirs(cluster, tmp_path, nodes=[1])[0]
    with open(os.path.join(d, "cluster-definition.json"), "wb") as f:
        f.write(cluster.definition_json)
    return d


def _flip_one_byte(path):
    os.chmod(path, 0o600)
    with open(path, "rb") as f:
        data = bytearray(f.read())
    # The middle byte, changed to another printable one: the file keeps its size (and stays JSON text
    # in most places), so only a content digest can notice.
    k = len(data) // 2
    data[k] = ord("0") if data[k] != ord("0") else ord("1")
    with open(path, "wb") as f:
        f.write(bytes(data))


def _files_read_by_full_check(node, monkeypatch):
    """Every file under ``node`` the real full check (charon_cluster_info.inspect) opens."""
    seen = set()
    real_open, real_os_open = open, os.open

    def spy_open(file, *a, **k):
        if isinstance(file, str):
            seen.add(os.path.abspath(file))
        return real_open(file, *a, **k)

    def spy_os_open(path, *a, **k):
        if isinstance(path, str):
            seen.add(os.path.abspath(path))
        return real_os_open(path, *a, **k)

    monkeypatch.setattr("builtins.open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    try:
        result = charon_cluster_info.inspect(node, True, None, "v1.10.3")
    finally:
        monkeypatch.undo()
    assert result["valid"], result["errors"]
    return sorted(p for p in seen if p.startswith(node + os.sep) and os.path.isfile(p))


def test_digest_covers_every_file_the_full_check_reads(node, monkeypatch):
    read = _files_read_by_full_check(node, monkeypatch)
    rel = sorted(os.path.relpath(p, node) for p in read)
    # The check reads the lock, the key, the deposit files and both files of each keystore; if it ever
    # reads one more, the loop below holds the digest to it as well.
    assert "cluster-lock.json" in rel and "charon-enr-private-key" in rel
    assert {"validator_keys/keystore-0.json", "validator_keys/keystore-0.txt",
            "validator_keys/keystore-1.json", "validator_keys/keystore-1.txt"} <= set(rel)
    assert any(r.startswith("deposit-data") for r in rel)
    assert set(rel) <= set(_verified.input_names(node))
    for path in read + [os.path.join(node, "cluster-definition.json")]:
        before = _verified.files_digest(node)
        saved = open(path, "rb").read()
        _flip_one_byte(path)
        assert _verified.files_digest(node) != before, "digest ignores %s" % path
        with open(path, "wb") as f:
            f.write(saved)
        assert _verified.files_digest(node) == before


def test_digest_ignores_times_and_modes_but_not_names(node):
    before = _verified.files_digest(node)
    ks = os.path.join(node, "validator_keys", "keystore-1.json")
    os.utime(ks, (1, 1))
    os.chmod(ks, 0o600)
    assert _verified.files_digest(node) == before
    # Same contents under other names: keystores map to validators by their index.
    keys = os.path.join(node, "validator_keys")
    for ext in ("json", "txt"):
        os.rename(os.path.join(keys, "keystore-1." + ext), os.path.join(keys, "keystore-9." + ext))
    assert _verified.files_digest(node) != before


@pytest.mark.parametrize("change", ["add_key_file", "remove_keystore", "add_deposit", "remove_lock"])
def test_digest_sees_added_and_removed_files(node, change):
    before = _verified.files_digest(node)
    keys = os.path.join(node, "validator_keys")
    if change == "add_key_file":
        shutil.copy(os.path.join(keys, "keystore-1.json"), os.path.join(keys, "keystore-2.json"))
    elif change == "remove_keystore":
        os.unlink(os.path.join(keys, "keystore-1.json"))
    elif change == "add_deposit":
        with open(os.path.join(node, "deposit-data-extra.json"), "w") as f:
            f.write("[]")
    else:
        os.unlink(os.path.join(node, "cluster-lock.json"))
    assert _verified.files_digest(node) != before


def test_link_or_special_file_is_never_cacheable(node, tmp_path):
    ks = os.path.join(node, "validator_keys", "keystore-0.json")
    elsewhere = str(tmp_path / "elsewhere.json")
    shutil.move(ks, elsewhere)
    os.symlink(elsewhere, ks)
    with pytest.raises(_verified.NotCacheable):
        _verified.files_digest(node)
    os.unlink(ks)
    os.mkfifo(ks)
    with pytest.raises(_verified.NotCacheable):
        _verified.files_digest(node)


class Counter:
    """A stand-in for the full check that counts its calls (the real one is in the module tests)."""

    def __init__(self, valid=True, side_effect=None):
        self.calls, self.valid, self.side_effect = 0, valid, side_effect

    def __call__(self):
        self.calls += 1
        if self.side_effect:
            self.side_effect()
        return {"valid": self.valid, "lock_hash": "0xabc", "errors": [] if self.valid else ["bad"]}


def test_verify_once_skips_only_while_nothing_changed(node, tmp_path):
    state = str(tmp_path / "state.json")
    check = Counter()
    first = _verified.verify_once(check, node, state, OPTIONS)
    assert (first["verified"], check.calls) == ("full", 1)
    assert stat.S_IMODE(os.lstat(state).st_mode) == 0o600
    second = _verified.verify_once(check, node, state, OPTIONS)
    assert (second["verified"], second["lock_hash"], check.calls) == ("unchanged", "0xabc", 1)
    _flip_one_byte(os.path.join(node, "validator_keys", "keystore-0.json"))
    assert _verified.verify_once(check, node, state, OPTIONS)["verified"] == "full" and check.calls == 2
    assert _verified.verify_once(check, node, state, OPTIONS)["verified"] == "unchanged" and check.calls == 2


def test_options_are_part_of_the_key_and_both_results_are_kept(node, tmp_path):
    state = str(tmp_path / "state.json")
    check = Counter()
    weaker = dict(OPTIONS, verify_signatures=False)
    _verified.verify_once(check, node, state, OPTIONS)
    assert _verified.verify_once(check, node, state, weaker)["verified"] == "full" and check.calls == 2
    # The second caller did not drop the first one's result (dkg.yml and run.yml alternate every run).
    assert _verified.verify_once(check, node, state, OPTIONS)["verified"] == "unchanged"
    assert _verified.verify_once(check, node, state, weaker)["verified"] == "unchanged" and check.calls == 2


def test_failed_check_is_never_remembered(node, tmp_path):
    state = str(tmp_path / "state.json")
    check = Counter(valid=False)
    for attempt in (1, 2):
        assert _verified.verify_once(check, node, state, OPTIONS)["verified"] == "full", attempt
    assert check.calls == 2 and not os.path.exists(state)


def test_file_changed_during_the_check_is_not_remembered(node, tmp_path):
    state = str(tmp_path / "state.json")
    ks = os.path.join(node, "validator_keys", "keystore-1.json")
    check = Counter(side_effect=lambda: _flip_one_byte(ks))
    _verified.verify_once(check, node, state, OPTIONS)
    assert not os.path.exists(state)


def test_state_of_another_dir_or_format_or_a_link_is_ignored(node, tmp_path):
    state = str(tmp_path / "state.json")
    _verified.verify_once(Counter(), node, state, OPTIONS)
    # The same files in another data dir: its own check.
    other = str(tmp_path / "copy")
    shutil.copytree(node, other)
    assert _verified.files_digest(other) == _verified.files_digest(node)
    assert _verified.lookup(state, other, _verified.files_digest(other), OPTIONS) is None
    # A state file of another format.
    data = json.load(open(state))
    data["format"] = _verified.FORMAT + 1
    with open(state, "w") as f:
        json.dump(data, f)
    assert _verified.lookup(state, node, _verified.files_digest(node), OPTIONS) is None
    # A link in place of the state file is not read, and writing replaces the link, not its target.
    target = str(tmp_path / "target.json")
    with open(target, "w") as f:
        json.dump(dict(data, format=_verified.FORMAT), f)
    os.unlink(state)
    os.symlink(target, state)
    assert _verified.lookup(state, node, _verified.files_digest(node), OPTIONS) is None
    before = open(target).read()
    check = Counter()
    _verified.verify_once(check, node, state, OPTIONS)
    assert check.calls == 1 and open(target).read() == before and not os.path.islink(state)


def test_check_mode_writes_nothing(node, tmp_path):
    state = str(tmp_path / "state.json")
    _verified.verify_once(Counter(), node, state, OPTIONS, write=False)
    assert not os.path.exists(state)


def test_unwritable_state_is_a_warning_not_a_failure(node, tmp_path):
    state = str(tmp_path / "missing-dir" / "state.json")
    res = _verified.verify_once(Counter(), node, state, OPTIONS)
    assert res["valid"] and "cannot remember" in res["verified_warning"]


def test_no_secret_in_the_state(node, tmp_path, cluster):
    state = str(tmp_path / "state.json")
    res = charon_cluster_info.inspect(node, True, None, "v1.10.3")
    _verified.remember(state, node, _verified.files_digest(node), OPTIONS, res)
    text = open(state).read()
    keys = os.path.join(node, "validator_keys")
    for name in sorted(os.listdir(keys)):
        if name.endswith(".txt"):
            assert open(os.path.join(keys, name)).read().strip() not in text
    assert open(os.path.join(node, "charon-enr-private-key")).read().strip() not in text
    for secret in cluster.share_secrets(1):
        assert secret.hex() not in text
    assert _files.read_regular(state)


def test_module_full_then_unchanged_then_catches_a_changed_keystore(node, tmp_path, monkeypatch, capsys):
    """The module with verified_state on a real data dir: the second run decrypts nothing, a one-byte
    change of a keystore after it is caught by the third."""
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.dvops.charon.plugins.module_utils import _keystore

    state = str(tmp_path / "node1.verified")

    def run():
        with patch_module_args({"path": node, "verified_state": state, "fail_on_error": False}):
            with pytest.raises(SystemExit):
                charon_cluster_info.main()
        return json.loads(capsys.readouterr().out)

    decrypts = []
    real_load = _keystore.load_keystores
    monkeypatch.setattr(_keystore, "load_keystores", lambda *a, **k: decrypts.append(a) or real_load(*a, **k))
    first = run()
    assert first["valid"] and first["verified"] == "full" and not first["changed"] and len(decrypts) == 1
    second = run()
    assert second["verified"] == "unchanged" and len(decrypts) == 1
    for key in ("lock_hash", "node_index", "peer_name", "validators", "keystores", "checks", "name", "network"):
        assert second[key] == first[key], key
    # One byte of keystore-1's ciphertext (hex, so the JSON stays well-formed and the decryption fails).
    ks = os.path.join(node, "validator_keys", "keystore-1.json")
    data = json.load(open(ks))
    msg = data["crypto"]["cipher"]["message"]
    data["crypto"]["cipher"]["message"] = ("1" if msg[0] != "1" else "2") + msg[1:]
    os.chmod(ks, 0o600)
    with open(ks, "w") as f:
        json.dump(data, f)
    third = run()
    assert third["verified"] == "full" and len(decrypts) == 2
    assert not third["valid"] and third["checks"]["keystores"] is False
    # And it stays caught: a failing result is never remembered.
    assert run()["verified"] == "full" and len(decrypts) == 3
