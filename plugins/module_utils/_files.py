# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""File writes that never lose a key: atomic (temp file + fsync + rename), explicit mode and
owner from the first byte, and a refusal instead of an overwrite.

Every secret the collection writes goes through ``write_new``; it refuses when the target
exists, so an existing key, lock or keystore can never be replaced by accident.
"""

from __future__ import annotations

import errno
import fcntl
import grp
import json
import os
import pwd
import re
import shutil
import stat
import tempfile

NOFOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# JSON of a file someone else may have written is checked for depth before json.loads: the C decoder
# recurses per level and, with a raised recursion limit (py_ecc raises it on import), '[' * 100000
# overflows the C stack (a segfault) instead of raising RecursionError.
MAX_JSON_DEPTH = 512
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


class RefuseOverwrite(Exception):
    """The target already exists and the collection never replaces it."""


class Busy(Exception):
    """Another process holds the lock right now."""


class UnsafePath(Exception):
    """A path is a symbolic link, a FIFO, a device or otherwise not what the collection manages there.

    Nothing is ever read, written, chowned or chmodded through a link: a link inside a data dir
    that a container can write to could point anywhere on the host."""


def _chown(path, owner, group):
    if owner is None and group is None:
        return
    os.chown(path, -1 if owner is None else int(owner), -1 if group is None else int(group))


def json_too_deep(text, limit=MAX_JSON_DEPTH):
    """Whether JSON ``text`` nests arrays/objects more than ``limit`` levels (strings ignored)."""
    depth = 0
    for m in _JSON_BRACKET.finditer(_JSON_STRING.sub('""', text)):
        if m.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def loads_json(data):
    """json.loads for untrusted text or bytes: ValueError (not a crash) when nested too deeply."""
    if isinstance(data, (bytes, bytearray)):
        data = bytes(data).decode("utf-8")
    if json_too_deep(data):
        raise ValueError("JSON nested more than %d levels deep" % MAX_JSON_DEPTH)
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply")


def write_atomic(path, data, mode=0o600, owner=None, group=None, overwrite=False):
    """Write ``data`` (bytes) to ``path`` atomically with ``mode`` and owner/group (uid/gid ints).

    The temporary file is created in the target directory with mode 0600, filled, fsynced,
    given its final mode and owner, then renamed into place.  With ``overwrite=False`` the
    rename is replaced by a hard link, which fails if the target appeared meanwhile, so an
    existing file is never replaced even under a race.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        _chown(tmp, owner, group)
        os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    raise RefuseOverwrite("%s already exists; it is never overwritten" % path)
                raise
            os.unlink(tmp)
        _fsync_dir(directory)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _fsync_dir(directory):
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def write_new(path, data, mode=0o600, owner=None, group=None):
    """Create ``path`` atomically; raise RefuseOverwrite when it exists."""
    if os.path.lexists(path):
        raise RefuseOverwrite("%s already exists; it is never overwritten" % path)
    write_atomic(path, data, mode=mode, owner=owner, group=group, overwrite=False)


def fix_attributes(path, mode=None, owner=None, group=None):
    """Bring mode/owner/group of an existing file to the wanted values.

    Returns a dict ``{'before': {...}, 'after': {...}}`` of what changed (empty when nothing
    did), and changes nothing when ``check_mode`` is handled by the caller not calling it.
    """
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePath("%s is not a regular file (%s); its owner and mode are left alone" % (path, _kind(st)))
    before, after = {}, {}
    if mode is not None and (st.st_mode & 0o7777) != mode:
        before["mode"], after["mode"] = "%04o" % (st.st_mode & 0o7777), "%04o" % mode
    if owner is not None and st.st_uid != int(owner):
        before["owner"], after["owner"] = st.st_uid, int(owner)
    if group is not None and st.st_gid != int(group):
        before["group"], after["group"] = st.st_gid, int(group)
    return {"before": before, "after": after} if after else {}


def apply_attributes(path, mode=None, owner=None, group=None):
    """Set owner/group/mode of the regular file ``path`` through a descriptor opened without
    following a link, so a link swapped in after a check is refused, never followed."""
    fd = _open_nofollow(path)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePath("%s is not a regular file (%s); its owner and mode are left alone" % (path, _kind(st)))
        if owner is not None or group is not None:
            os.fchown(fd, -1 if owner is None else int(owner), -1 if group is None else int(group))
        if mode is not None:
            os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _kind(st):
    mode = st.st_mode
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _open_nofollow(path):
    # O_NONBLOCK: opening a FIFO with no writer returns at once instead of hanging the module.
    try:
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath("%s is a symbolic link; links are never followed: put the file itself there" % path)
        raise


def read_regular(path, max_bytes=None):
    """Bytes of the regular file ``path``, never through a link and never blocking on a FIFO.

    Raises UnsafePath for a link, FIFO, device, socket or directory (and for a file larger than
    ``max_bytes``), OSError (FileNotFoundError, PermissionError) as the system reports it."""
    fd = _open_nofollow(path)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePath("%s is %s, not a regular file; it is not read" % (path, _kind(st)))
        if max_bytes is not None and st.st_size > max_bytes:
            raise UnsafePath("%s is larger than %d bytes; it is not read" % (path, max_bytes))
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if max_bytes is not None and total > max_bytes:
                raise UnsafePath("%s is larger than %d bytes; it is not read" % (path, max_bytes))
        return b"".join(chunks)
    finally:
        os.close(fd)


def check_abs_path(path, field):
    """Raise UnsafePath unless ``path`` is a non-empty absolute path without NUL bytes: a relative
    path would land wherever the module happens to run (Ansible's temporary directory, a home)."""
    if not isinstance(path, str) or not path or "\x00" in path or not os.path.isabs(path):
        raise UnsafePath("%s: %r is not an absolute path" % (field, path if not isinstance(path, str) or len(path) < 200
                                                             else path[:200] + "..."))


def check_real_dir(path, field):
    """Raise UnsafePath unless ``path`` is a directory itself (not a link to one)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise UnsafePath("%s: %s does not exist" % (field, path))
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath("%s: %s is a symbolic link; links are never followed: give the real directory" % (field, path))
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath("%s: %s is %s, not a directory" % (field, path, _kind(st)))


def remove_tree(path):
    """Remove the directory ``path`` (which the caller created); refuse when it is a link or no directory.

    shutil.rmtree never follows links inside the tree (it works on directory descriptors)."""
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath("%s is %s, not the directory this collection made there; it is left alone: move it away"
                         % (path, _kind(st)))
    shutil.rmtree(path)


def chown_tree(root, uid, gid, check=False):
    """Give ``root`` and everything below it to ``uid``/``gid`` without ever following a link.

    Walks by directory descriptors opened with O_NOFOLLOW and changes entries with
    ``chown(name, dir_fd=..., follow_symlinks=False)``, so even an entry swapped for a link while
    the walk runs (a container writing the same directory) is not followed. Links, FIFOs, sockets
    and devices are skipped (a device node handed to the container user would hand it the device).
    Returns ``(changed_paths, skipped_paths)``; with ``check`` nothing is changed.
    """
    try:
        top = os.open(root, NOFOLLOW_DIR)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafePath("%s is a symbolic link or not a directory; ownership is never changed through a link"
                             % root)
        raise
    changed, skipped = [], []
    stack = [(top, root)]
    try:
        _chown_walk(stack, uid, gid, check, changed, skipped)
    finally:
        for fd, dummy in stack:
            os.close(fd)
    return changed, skipped


def _chown_walk(stack, uid, gid, check, changed, skipped):
    while stack:
        dfd, dpath = stack.pop()
        try:
            st = os.fstat(dfd)
            if (st.st_uid, st.st_gid) != (uid, gid):
                changed.append(dpath)
                if not check:
                    os.fchown(dfd, uid, gid)
            for name in sorted(os.listdir(dfd)):
                path = os.path.join(dpath, name)
                st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    try:
                        stack.append((os.open(name, NOFOLLOW_DIR, dir_fd=dfd), path))
                    except OSError as exc:
                        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                            raise
                        skipped.append(path)  # replaced by a link (or file) since it was listed
                elif stat.S_ISREG(st.st_mode):
                    if (st.st_uid, st.st_gid) != (uid, gid):
                        changed.append(path)
                        if not check:
                            os.chown(name, uid, gid, dir_fd=dfd, follow_symlinks=False)
                else:
                    skipped.append(path)
        finally:
            os.close(dfd)


def ensure_dir(path, mode=0o755, owner=None, group=None):
    """Create ``path`` (and parents) when missing; return True when it was created."""
    if os.path.isdir(path):
        return False
    os.makedirs(path, mode)
    os.chmod(path, mode)
    _chown(path, owner, group)
    return True


MAX_ID = 2 ** 32 - 2  # uid_t/gid_t; (uid_t)-1 means "leave unchanged" to chown


def resolve_id(value, kind):
    """uid (kind "owner") or gid (kind "group") from a name or a number; None for an unknown name
    or a number no uid/gid can be (chown would raise OverflowError)."""
    value = str(value).strip()
    if re.match(r"\A\d+\Z", value):
        return int(value) if int(value) <= MAX_ID else None
    try:
        return pwd.getpwnam(value).pw_uid if kind == "owner" else grp.getgrnam(value).gr_gid
    except (KeyError, ValueError):  # ValueError: a NUL byte in the name
        return None


# A lock per directory: flock (exclusive, non-blocking) on a lock file, whose content is a lease --------

def lock_file(path):
    """Open ``path`` (created 0600, never through a link) and flock it exclusively without blocking.

    Returns the descriptor (the lock lasts until it is closed). Raises Busy when another process
    holds it, UnsafePath when something else than a regular file is there. The inode is checked
    after locking, so a lock file removed and recreated by its previous holder meanwhile is not
    mistaken for the current one."""
    for dummy in range(10):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafePath("%s is a symbolic link; links are never followed: remove it" % path)
            raise
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise UnsafePath("%s is %s, not a lock file: remove it" % (path, _kind(st)))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except (BlockingIOError, PermissionError):
                raise Busy("%s is locked by another process" % path)
            try:
                current = os.stat(path, follow_symlinks=False).st_ino
            except FileNotFoundError:
                current = None
            if current == st.st_ino:
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    raise Busy("%s keeps being replaced while locking it" % path)


def read_lease(fd):
    """The JSON object stored in a locked lock file ({} when empty or unreadable)."""
    os.lseek(fd, 0, os.SEEK_SET)
    data = os.read(fd, 1 << 16)
    try:
        value = loads_json(data) if data.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def write_lease(fd, value):
    data = json.dumps(value, sort_keys=True).encode()
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    _write_all(fd, data)
    os.fsync(fd)
