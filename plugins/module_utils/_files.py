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
import grp
import os
import pwd
import re
import tempfile


class RefuseOverwrite(Exception):
    """The target already exists and the collection never replaces it."""


def _chown(path, owner, group):
    if owner is None and group is None:
        return
    os.chown(path, -1 if owner is None else int(owner), -1 if group is None else int(group))


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
    before, after = {}, {}
    if mode is not None and (st.st_mode & 0o7777) != mode:
        before["mode"], after["mode"] = "%04o" % (st.st_mode & 0o7777), "%04o" % mode
    if owner is not None and st.st_uid != int(owner):
        before["owner"], after["owner"] = st.st_uid, int(owner)
    if group is not None and st.st_gid != int(group):
        before["group"], after["group"] = st.st_gid, int(group)
    return {"before": before, "after": after} if after else {}


def apply_attributes(path, mode=None, owner=None, group=None):
    if owner is not None or group is not None:
        os.chown(path, -1 if owner is None else int(owner), -1 if group is None else int(group))
    if mode is not None:
        os.chmod(path, mode)


def ensure_dir(path, mode=0o755, owner=None, group=None):
    """Create ``path`` (and parents) when missing; return True when it was created."""
    if os.path.isdir(path):
        return False
    os.makedirs(path, mode)
    os.chmod(path, mode)
    _chown(path, owner, group)
    return True


def resolve_id(value, kind):
    """uid (kind "owner") or gid (kind "group") from a name or a number; None for an unknown name."""
    value = str(value).strip()
    if re.match(r"\A\d+\Z", value):
        return int(value)
    try:
        return pwd.getpwnam(value).pw_uid if kind == "owner" else grp.getgrnam(value).gr_gid
    except KeyError:
        return None
