# -*- coding: utf-8 -*-
"""_files: the never-overwrite helpers, the no-follow readers and the recursive chown that never
leaves the directory it manages (links planted inside point at files outside)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _files

UID, GID = os.getuid(), os.getgid()


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


# Never overwrite ---------------------------------------------------------------------------------

def test_write_new_creates_with_mode(tmp_path):
    path = tmp_path / "key"
    _files.write_new(str(path), b"secret", mode=0o600)
    assert path.read_bytes() == b"secret"
    assert _mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["key"]  # no temporary file left


def _link_to_a_file_outside(tmp_path, name, content):
    """(file, link): ``tmp_path/outside`` (mode 0644) holding ``content``, and ``tmp_path/<name>`` linking to it."""
    outside = tmp_path / "outside"
    outside.write_bytes(content)
    os.chmod(str(outside), 0o644)
    link = tmp_path / name
    os.symlink(str(outside), str(link))
    return outside, link


@pytest.mark.parametrize("kind", ["file", "dangling-link", "dir"])
def test_write_new_refuses_anything_in_the_way(tmp_path, kind):
    path = tmp_path / "key"
    outside = tmp_path / "outside"
    if kind == "file":
        path.write_bytes(b"old key")
    elif kind == "dangling-link":
        os.symlink(str(outside), str(path))
    else:
        path.mkdir()
    with pytest.raises(_files.RefuseOverwrite):
        _files.write_new(str(path), b"new", mode=0o600)
    if kind == "file":
        assert path.read_bytes() == b"old key"
    assert not outside.exists()  # never written through the link
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key"]


def test_write_atomic_without_overwrite_refuses_a_file_that_appears_under_a_race(tmp_path, monkeypatch):
    # The target appears between the caller's check and the final link: the hard link fails, the
    # file that appeared keeps its content and no temporary file is left.
    path = tmp_path / "key"
    real_link = os.link

    def racing_link(src, dst, *a, **kw):
        with open(dst, "wb") as f:
            f.write(b"appeared")
        return real_link(src, dst, *a, **kw)

    monkeypatch.setattr(os, "link", racing_link)
    with pytest.raises(_files.RefuseOverwrite):
        _files.write_atomic(str(path), b"new", overwrite=False)
    assert path.read_bytes() == b"appeared"
    assert [p.name for p in tmp_path.iterdir()] == ["key"]


def test_write_atomic_overwrite_replaces_a_link_not_its_target(tmp_path):
    outside, link = _link_to_a_file_outside(tmp_path, "state", b"victim")
    _files.write_atomic(str(link), b"state", mode=0o600, overwrite=True)
    assert outside.read_bytes() == b"victim" and _mode(outside) == 0o644
    assert not os.path.islink(str(link)) and link.read_bytes() == b"state"


# No-follow reads ---------------------------------------------------------------------------------

def test_read_regular_reads_a_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"data")
    assert _files.read_regular(str(path)) == b"data"


def test_read_regular_refuses_a_link_to_a_readable_file(tmp_path):
    link = _link_to_a_file_outside(tmp_path, "f", b"not yours")[1]
    with pytest.raises(_files.UnsafePath) as exc:
        _files.read_regular(str(link))
    assert "symbolic link" in str(exc.value) and str(link) in str(exc.value)
    assert "not yours" not in str(exc.value)


def test_read_regular_refuses_a_fifo_without_blocking(tmp_path):
    fifo = str(tmp_path / "key")
    os.mkfifo(fifo)
    out = {}

    def read():
        try:
            _files.read_regular(fifo)
        except _files.UnsafePath as exc:
            out["error"] = str(exc)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(5)
    assert not t.is_alive(), "reading a FIFO hung"
    assert "not a regular file" in out["error"]


def test_read_regular_refuses_a_directory_and_reports_missing(tmp_path):
    with pytest.raises(_files.UnsafePath):
        _files.read_regular(str(tmp_path))
    with pytest.raises(FileNotFoundError):
        _files.read_regular(str(tmp_path / "missing"))


def test_read_regular_bounds_the_size(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"x" * 100)
    with pytest.raises(_files.UnsafePath) as exc:
        _files.read_regular(str(path), max_bytes=10)
    assert "larger than" in str(exc.value)


def test_check_real_dir(tmp_path):
    _files.check_real_dir(str(tmp_path), "data_dir")
    link = tmp_path / "link"
    os.symlink(str(tmp_path), str(link))
    with pytest.raises(_files.UnsafePath) as exc:
        _files.check_real_dir(str(link), "data_dir")
    assert "data_dir" in str(exc.value) and "symbolic link" in str(exc.value)
    f = tmp_path / "file"
    f.write_bytes(b"")
    with pytest.raises(_files.UnsafePath):
        _files.check_real_dir(str(f), "data_dir")


def test_remove_tree_refuses_a_link_and_removes_a_dir(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_bytes(b"keep")
    link = tmp_path / "tmp"
    os.symlink(str(outside), str(link))
    with pytest.raises(_files.UnsafePath):
        _files.remove_tree(str(link))
    assert (outside / "keep").read_bytes() == b"keep" and os.path.islink(str(link))
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    (real / "sub" / "f").write_bytes(b"")
    os.symlink(str(outside), str(real / "sub" / "l"))
    _files.remove_tree(str(real))
    assert not real.exists() and (outside / "keep").exists()


# Recursive chown that never follows links --------------------------------------------------------

def _tree_with_planted_links(tmp_path):
    root = tmp_path / "data"
    (root / "validator_keys").mkdir(parents=True)
    (root / "cluster-lock.json").write_bytes(b"{}")
    (root / "validator_keys" / "keystore-0.json").write_bytes(b"{}")
    outside_dir = tmp_path / "etc"
    outside_dir.mkdir()
    outside = outside_dir / "shadow"
    outside.write_bytes(b"root only")
    os.chmod(str(outside), 0o640)
    os.symlink(str(outside), str(root / "planted-file"))
    os.symlink(str(outside_dir), str(root / "validator_keys" / "planted-dir"))
    return root, outside_dir, outside


def _as_root():
    if os.geteuid() != 0:
        pytest.skip("changing ownership to another uid needs root")


OTHER_UID, OTHER_GID = 4242, 4243


def _owner(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid


def test_chown_tree_changes_what_is_inside_and_never_the_link_targets(tmp_path, monkeypatch):
    _as_root()
    root, outside_dir, outside = _tree_with_planted_links(tmp_path)
    before = {p: (_owner(p), _mode(p)) for p in (str(outside), str(outside_dir))}
    calls = []
    real_chown = os.chown

    def spy(path, uid, gid, *a, **kw):
        calls.append((path, kw.get("follow_symlinks", True)))
        return real_chown(path, uid, gid, *a, **kw)

    monkeypatch.setattr(os, "chown", spy)
    changed, skipped = _files.chown_tree(str(root), OTHER_UID, OTHER_GID)
    assert all(not follow for dummy, follow in calls), calls
    names = sorted(os.path.basename(p) for p in changed)
    assert names == ["cluster-lock.json", "data", "keystore-0.json", "validator_keys"]
    for p in changed:
        assert _owner(p) == (OTHER_UID, OTHER_GID)
    assert sorted(os.path.basename(p) for p in skipped) == ["planted-dir", "planted-file"]
    # The targets outside (a file and a whole directory) keep owner and mode; the links too.
    assert {p: (_owner(p), _mode(p)) for p in before} == before
    assert _owner(str(root / "planted-file")) == (UID, GID)
    # Second run: nothing to do.
    assert _files.chown_tree(str(root), OTHER_UID, OTHER_GID)[0] == []


def test_chown_tree_skips_special_files(tmp_path):
    # A device node or FIFO handed to the container user would give it the device: skipped.
    _as_root()
    root = _tree_with_planted_links(tmp_path)[0]
    os.mkfifo(str(root / "fifo"))
    changed, skipped = _files.chown_tree(str(root), OTHER_UID, OTHER_GID)
    assert str(root / "fifo") in skipped and _owner(str(root / "fifo")) == (UID, GID)


def test_chown_tree_nothing_to_do_is_idempotent(tmp_path):
    root = _tree_with_planted_links(tmp_path)[0]
    changed, skipped = _files.chown_tree(str(root), UID, GID)
    assert changed == [] and len(skipped) == 2


def test_chown_tree_check_mode_changes_nothing(tmp_path, monkeypatch):
    root = _tree_with_planted_links(tmp_path)[0]
    monkeypatch.setattr(os, "chown", lambda *a, **kw: pytest.fail("chown in check mode"))
    changed = _files.chown_tree(str(root), UID + 1, GID, check=True)[0]
    assert len(changed) == 4


def test_chown_tree_refuses_a_linked_root(tmp_path):
    root = _tree_with_planted_links(tmp_path)[0]
    link = tmp_path / "data-link"
    os.symlink(str(root), str(link))
    with pytest.raises(_files.UnsafePath):
        _files.chown_tree(str(link), UID, GID)


def test_chown_tree_directory_swapped_for_a_link_is_not_entered(tmp_path, monkeypatch):
    # A directory replaced by a link between listing and entering (a running container racing the
    # walk) is refused by O_NOFOLLOW, not followed.
    _as_root()
    root, outside_dir, outside = _tree_with_planted_links(tmp_path)
    real_open = os.open
    swapped = {}

    def racing_open(path, flags, *a, **kw):
        if path == "validator_keys" and not swapped:
            swapped["done"] = True
            os.rename(str(root / "validator_keys"), str(tmp_path / "moved"))
            os.symlink(str(outside_dir), str(root / "validator_keys"))
        return real_open(path, flags, *a, **kw)

    monkeypatch.setattr(os, "open", racing_open)
    changed, skipped = _files.chown_tree(str(root), OTHER_UID, OTHER_GID)
    assert swapped
    assert _owner(str(outside_dir)) == (UID, GID) and _owner(str(outside)) == (UID, GID)
    assert any(p.endswith("validator_keys") for p in skipped)


# Attributes never follow a link -------------------------------------------------------------------

def test_fix_and_apply_attributes_refuse_a_link(tmp_path):
    outside, link = _link_to_a_file_outside(tmp_path, "key", b"x")
    with pytest.raises(_files.UnsafePath, match="symbolic link"):
        _files.fix_attributes(str(link), mode=0o600)
    with pytest.raises(_files.UnsafePath):
        _files.apply_attributes(str(link), mode=0o600, owner=UID, group=GID)
    assert _mode(outside) == 0o644


@pytest.mark.parametrize("value,kind,want", [
    ("0", "owner", 0), (" 1000 ", "group", 1000), ("4294967294", "owner", 4294967294),
    ("4294967295", "owner", None), ("99999999999999999999", "owner", None), ("no-such-user-dvops", "owner", None),
    ("root", "owner", 0),
])
def test_resolve_id_bounds(value, kind, want):
    assert _files.resolve_id(value, kind) == want


DEEP_CASES = ["[" * 100000, '{"a":' * 60000, '[' * 500 + ']' * 500]


@pytest.mark.parametrize("text", DEEP_CASES[:2], ids=["array", "object"])
def test_loads_json_refuses_deep_nesting_even_with_a_raised_recursion_limit(text):
    # py_ecc raises the recursion limit on import; then json's C decoder overflows the C stack on
    # such input (a segfault, not RecursionError). Run where a crash cannot take the test run down.
    code = ("import sys; sys.setrecursionlimit(10 ** 6)\n"
            "from ansible_collections.dvops.charon.plugins.module_utils import _files, _cluster\n"
            "text = sys.stdin.read()\n"
            "for f in (_files.loads_json, lambda t: _cluster.parse_definition(t, 'x')):\n"
            "    try:\n"
            "        f(text)\n"
            "    except ValueError as exc:\n"
            "        print('refused:', str(exc)[:80])\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True, text=True, env=env,
                          timeout=60, check=False)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert proc.stdout.count("refused:") == 2 and "nested" in proc.stdout


def test_loads_json_accepts_ordinary_depth_and_brackets_in_strings():
    assert _files.loads_json(DEEP_CASES[2]) is not None
    assert _files.loads_json('{"a": "' + "[" * 100000 + '"}') == {"a": "[" * 100000}
    assert _files.loads_json(b'{"x": [1, {"y": "\\"]"}]}') == {"x": [1, {"y": '"]'}]}
