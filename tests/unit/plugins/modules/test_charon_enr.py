# -*- coding: utf-8 -*-
"""charon_enr run in-process: create, reuse, refusals, drift, check and diff mode, no key in results."""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.dvops.charon.plugins.module_utils import _deps, _enr
from ansible_collections.dvops.charon.plugins.modules import charon_enr

KEY_HEX = "41d3ff12045b73c870529fe44f70dca2745bafbe1698ffc3c8759eef3cfbaee1"
KEY_ENR = ("enr:-HW4QMNo8q6cHeIVPW70BA6PZKjKwTKNIALmuE0tkvtAB8YgYzOYYaf8evsNo2Z1nnqPRiJAJp3-1i3shLchccqovCmAgmlkgnY0"
           "iXNlY3AyNTZrMaECvI5821Dg_9UqVPr5hNasj-XuaFbTil-KzZvTP8nH1Q0")
UID, GID = os.getuid(), os.getgid()


def run(capsys, check=False, diff=False, **args):
    args.setdefault("owner", str(UID))
    args.setdefault("group", str(GID))
    if check:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            charon_enr.main()
    out = capsys.readouterr().out
    return json.loads(out), out


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _seed(tmp_path, content, mode=0o600):
    data_dir = tmp_path / ".charon"
    data_dir.mkdir()
    path = data_dir / "charon-enr-private-key"
    path.write_bytes(content)
    os.chmod(path, mode)
    return str(data_dir), path


def test_create_then_reuse(tmp_path, capsys):
    data_dir = str(tmp_path / "nested" / ".charon")
    res, out = run(capsys, data_dir=data_dir)
    assert not res.get("failed"), res
    assert res["changed"] and res["created"] and res["data_dir_created"]
    path = os.path.join(data_dir, "charon-enr-private-key")
    assert res["private_key_path"] == path
    content = open(path, "rb").read()
    assert len(content) == 64 and content == content.lower() and b"\n" not in content
    assert _mode(path) == 0o600 and _mode(data_dir) == 0o755
    key = _enr.load_private_key_file(path)
    assert res["enr"] == _enr.node_record(key) and res["enr"].startswith("enr:-HW4Q")
    info = _enr.enr_info(res["enr"])
    assert (res["public_key"], res["peer_id"], res["peer_name"]) == (info["public_key"], info["peer_id"], info["peer_name"])
    assert content.decode() not in out

    again, out2 = run(capsys, data_dir=data_dir)
    assert not again["changed"] and not again["created"] and again["enr"] == res["enr"]
    assert open(path, "rb").read() == content
    assert content.decode() not in out2


def test_existing_key_with_whitespace_is_reused_unchanged(tmp_path, capsys):
    data_dir, path = _seed(tmp_path, b"  " + KEY_HEX.encode() + b"\n")
    res, out = run(capsys, data_dir=data_dir)
    assert res["changed"] is False and res["created"] is False
    assert res["enr"] == KEY_ENR
    assert res["public_key"] == "0x02bc8e7cdb50e0ffd52a54faf984d6ac8fe5ee6856d38a5f8acd9bd33fc9c7d50d"
    assert res["peer_id"] == _enr.peer_id_from_enr(KEY_ENR)
    assert path.read_bytes() == b"  " + KEY_HEX.encode() + b"\n"   # charon's own file is never rewritten
    assert KEY_HEX not in out


@pytest.mark.parametrize("content,reason", [
    (b"0x" + KEY_HEX.encode(), "0x"),
    (KEY_HEX.encode()[:-4], "60 hex characters"),
    (b"not a key at all", "non-hex"),
    (b"", "is empty"),
])
def test_malformed_key_refused_and_untouched(tmp_path, capsys, content, reason):
    data_dir, path = _seed(tmp_path, content, mode=0o644)
    res, out = run(capsys, data_dir=data_dir)
    assert res["failed"] and reason in res["msg"] and str(path) in res["msg"] and "untouched" in res["msg"]
    assert path.read_bytes() == content and _mode(path) == 0o644
    assert sorted(os.listdir(data_dir)) == ["charon-enr-private-key"]


def test_unreadable_key_file_refused(tmp_path, capsys, monkeypatch):
    data_dir, path = _seed(tmp_path, KEY_HEX.encode())
    real_open = os.open

    def fake_open(file, *a, **kw):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *a, **kw)
    # Simulated: the tests may run as root, which reads a 0000 file anyway. (The key is opened with
    # os.open(O_NOFOLLOW | O_NONBLOCK), never through a link.)
    monkeypatch.setattr(os, "open", fake_open)
    res, out = run(capsys, data_dir=data_dir)
    assert res["failed"] and "cannot read %s: Permission denied" % path in res["msg"]
    assert path.read_bytes() == KEY_HEX.encode()


def test_key_path_is_a_directory(tmp_path, capsys):
    data_dir = tmp_path / ".charon"
    (data_dir / "charon-enr-private-key").mkdir(parents=True)
    res, out = run(capsys, data_dir=str(data_dir))
    assert res["failed"] and "not a regular file" in res["msg"]


def test_data_dir_is_a_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    res, out = run(capsys, data_dir=str(target))
    assert res["failed"] and "data_dir" in res["msg"]


def test_mode_drift_corrected_with_diff(tmp_path, capsys):
    data_dir, path = _seed(tmp_path, KEY_HEX.encode(), mode=0o644)
    res, out = run(capsys, diff=True, data_dir=data_dir)
    assert res["changed"] and not res["created"] and res["enr"] == KEY_ENR
    assert res["diff"]["before"] == {"mode": "0644"} and res["diff"]["after"] == {"mode": "0600"}
    assert _mode(path) == 0o600
    res, out = run(capsys, diff=True, data_dir=data_dir)
    assert not res["changed"] and "diff" not in res


def test_owner_group_drift_corrected(tmp_path, capsys, monkeypatch):
    data_dir, path = _seed(tmp_path, KEY_HEX.encode())
    calls = []
    # chown to a foreign uid needs root; record the call instead and fake the stat result.
    # (through a descriptor opened without following links: record the file's inode)
    monkeypatch.setattr(os, "fchown", lambda fd, u, g: calls.append((os.fstat(fd).st_ino, u, g)))
    res, out = run(capsys, diff=True, data_dir=data_dir, owner=str(UID + 1), group=str(GID + 1), mode="0600")
    assert res["changed"]
    assert res["diff"]["before"] == {"owner": UID, "group": GID}
    assert res["diff"]["after"] == {"owner": UID + 1, "group": GID + 1}
    assert calls == [(os.stat(str(path)).st_ino, UID + 1, GID + 1)]


def test_check_mode_missing_key_creates_nothing(tmp_path, capsys):
    data_dir = tmp_path / ".charon"
    res, out = run(capsys, check=True, diff=True, data_dir=str(data_dir))
    assert res["changed"] and res["created"] and res["data_dir_created"]
    assert res["enr"] is None and res["peer_id"] is None and "would create" in res["msg"]
    assert res["diff"]["before"]["state"] == "absent" and res["diff"]["after"]["state"] == "file"
    assert not data_dir.exists()


def test_check_mode_drift_not_applied(tmp_path, capsys):
    data_dir, path = _seed(tmp_path, KEY_HEX.encode(), mode=0o640)
    res, out = run(capsys, check=True, data_dir=data_dir)
    assert res["changed"] and res["enr"] == KEY_ENR and "would correct" in res["msg"]
    assert _mode(path) == 0o640


def test_custom_mode_and_names(tmp_path, capsys):
    user, group = pwd.getpwuid(UID).pw_name, grp.getgrgid(GID).gr_name
    res, out = run(capsys, data_dir=str(tmp_path / "d"), owner=user, group=group, mode="0400")
    assert res["created"] and _mode(res["private_key_path"]) == 0o400


@pytest.mark.parametrize("field,value", [("owner", "no-such-user-xyz"), ("group", "no-such-group-xyz"),
                                         ("mode", "u=rw"), ("mode", "0999")])
def test_bad_options_name_the_field(tmp_path, capsys, field, value):
    res, out = run(capsys, data_dir=str(tmp_path / "d"), **{field: value})
    assert res["failed"] and res["msg"].startswith(field + ":")
    assert not (tmp_path / "d").exists()


def test_missing_dependency_message(tmp_path, capsys, monkeypatch):
    def missing(name):
        raise _deps.MissingDependency(_deps.missing_message(name))
    monkeypatch.setattr(_deps, "require", missing)
    res, out = run(capsys, data_dir=str(tmp_path / "d"))
    assert res["failed"] and "coincurve" in res["msg"] and "python_deps" in res["msg"]
    assert not (tmp_path / "d").exists()


def test_symlinked_key_is_refused_and_its_target_untouched(tmp_path, capsys):
    # A link at the key path (planted in a data dir the container writes) is never followed:
    # neither the target's owner/mode nor its content change, whatever mode is asked for.
    data_dir = tmp_path / ".charon"
    data_dir.mkdir()
    outside = tmp_path / "host-file"
    outside.write_bytes(KEY_HEX.encode())
    os.chmod(str(outside), 0o644)
    os.symlink(str(outside), str(data_dir / "charon-enr-private-key"))
    res, out = run(capsys, data_dir=str(data_dir), mode="0600")
    assert res["failed"] and "symbolic link" in res["msg"], res
    assert _mode(str(outside)) == 0o644 and outside.read_bytes() == KEY_HEX.encode()
    assert KEY_HEX not in out


def test_fifo_at_the_key_path_is_refused(tmp_path, capsys):
    data_dir = tmp_path / ".charon"
    data_dir.mkdir()
    os.mkfifo(str(data_dir / "charon-enr-private-key"))
    res, out = run(capsys, data_dir=str(data_dir))
    assert res["failed"] and "not a regular file" in res["msg"]


@pytest.mark.parametrize("field", ["owner", "group"])
def test_owner_out_of_range_is_named(tmp_path, capsys, field):
    res, out = run(capsys, data_dir=str(tmp_path / ".charon"), **{field: "99999999999999999999"})
    assert res["failed"] and res["msg"].startswith(field + ":"), res
    assert not (tmp_path / ".charon").exists()


def test_a_key_that_appears_while_creating_is_never_overwritten(tmp_path, capsys, monkeypatch):
    # Another process writes the key between the module's check and its write: the module must
    # refuse (write_new's hard link), not replace it.
    from ansible_collections.dvops.charon.plugins.module_utils import _k1
    data_dir = tmp_path / ".charon"
    data_dir.mkdir()
    path = data_dir / "charon-enr-private-key"
    real = _k1.generate_private_key

    def racing_generate():
        path.write_bytes(KEY_HEX.encode())
        return real()

    monkeypatch.setattr(_k1, "generate_private_key", racing_generate)
    res, out = run(capsys, data_dir=str(data_dir))
    assert res["failed"] and "never overwritten" in res["msg"]
    assert path.read_bytes() == KEY_HEX.encode()
    assert sorted(os.listdir(str(data_dir))) == ["charon-enr-private-key"]


def test_symlinked_data_dir_is_refused(tmp_path, capsys):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / ".charon"
    os.symlink(str(real), str(link))
    res, out = run(capsys, data_dir=str(link))
    assert res["failed"] and "data_dir" in res["msg"] and "symbolic link" in res["msg"]
    assert os.listdir(str(real)) == []
