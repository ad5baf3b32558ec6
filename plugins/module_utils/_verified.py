# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Verify a charon data dir once per change.

The full check of a data dir (charon_cluster_info) decrypts every keystore (pbkdf2/scrypt) and
verifies every signature of the lock: seconds per host, growing with the validators. A rerun that
finds the same files has nothing new to learn, so a passing result is remembered in a small state
file together with a SHA-256 digest of everything the check reads (the lock, the definition, the
ENR private key, every deposit-data*.json, every entry of validator_keys/ - keystores and their
password files - by name, type and content) and of the check's options. The next check whose
digest is the same returns that result without decrypting anything; any changed, added, removed or
renamed file, or a link where a file was, changes the digest and brings the full check back.

The digest is over contents, never over sizes or times (which a copy or ``touch`` can keep or fake).
It is computed before and after the full check, and the result is remembered only when both agree,
so a file changed while the check ran is checked again next time. Only passing results are kept.

The state file belongs beside the data dir, not in it: the charon container can write the data dir,
and must not be able to write "verified" next to a keystore it changed. It holds no secret (hashes,
the lock's public facts), is written 0600 and atomically, and is read without following links.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat

from ansible_collections.dvops.charon.plugins.module_utils import _files

# Bump when the check or the state layout changes: older states then simply miss.
FORMAT = 1
TOP_FILES = ("cluster-lock.json", "cluster-definition.json", "charon-enr-private-key")
KEYS_DIR = "validator_keys"
MAX_STATE_BYTES = 16 << 20


class NotCacheable(Exception):
    """The data dir holds something the digest cannot vouch for (a link, a special file, an unreadable
    file): such a dir gets the full check every time, which reports the problem."""


def input_names(data_dir):
    """Sorted names (relative to ``data_dir``) of every file the full check may read."""
    names = [name for name in os.listdir(data_dir)
             if name in TOP_FILES or (name.startswith("deposit-data") and name.endswith(".json"))]
    keys = os.path.join(data_dir, KEYS_DIR)
    try:
        st = os.lstat(keys)
    except FileNotFoundError:
        st = None
    if st is not None:
        if not stat.S_ISDIR(st.st_mode):
            raise NotCacheable("%s is not a plain directory" % keys)
        # Every entry, not only keystore-*.json: a stray file changes the digest (a harmless extra
        # full check) rather than risking a name pattern that misses one the loader reads.
        names += [KEYS_DIR + "/" + name for name in os.listdir(keys)]
    return sorted(names)


def files_digest(data_dir):
    """Hex SHA-256 over the names and contents of :func:`input_names`; raises NotCacheable."""
    st = os.lstat(data_dir)
    if not stat.S_ISDIR(st.st_mode):
        raise NotCacheable("%s is not a plain directory" % data_dir)
    h = hashlib.sha256(b"dvops.charon verified data dir %d\0" % FORMAT)
    for name in input_names(data_dir):
        try:
            content = _files.read_regular(os.path.join(data_dir, name))
        except (_files.UnsafePath, OSError) as exc:
            raise NotCacheable(str(exc))
        encoded = name.encode("utf-8", "surrogateescape")
        h.update(b"%d:" % len(encoded) + encoded + hashlib.sha256(content).digest())
    return h.hexdigest()


def options_key(options):
    """Canonical text of the check's options (a result holds for exactly these)."""
    return json.dumps(options, sort_keys=True, separators=(",", ":"), default=str)


def _read_state(state_path):
    try:
        state = _files.loads_json(_files.read_regular(state_path, MAX_STATE_BYTES))
    except (OSError, ValueError, RecursionError, _files.UnsafePath):
        return None
    return state if isinstance(state, dict) and state.get("format") == FORMAT else None


def lookup(state_path, data_dir, digest, options):
    """The remembered result for this data dir, digest and options, or None."""
    state = _read_state(state_path)
    if not state or state.get("data_dir") != data_dir or state.get("files") != digest:
        return None
    result = (state.get("results") or {}).get(options_key(options))
    return dict(result) if isinstance(result, dict) and result.get("valid") is True else None


def remember(state_path, data_dir, digest, options, result):
    """Keep a passing ``result`` for these files and options (other options' results for the same
    files stay, so two callers with different options do not undo each other)."""
    if result.get("valid") is not True:
        return
    state = _read_state(state_path)
    results = {}
    if state and state.get("data_dir") == data_dir and state.get("files") == digest:
        results = dict(state.get("results") or {})
    results[options_key(options)] = result
    data = json.dumps({"format": FORMAT, "data_dir": data_dir, "files": digest, "results": results},
                      sort_keys=True, indent=1).encode("utf-8")
    _files.write_atomic(state_path, data, mode=0o600, overwrite=True)


def verify_once(check, data_dir, state_path, options, write=True):
    """``check()``'s result for ``data_dir``, or the remembered one when nothing changed since a
    passing check with the same ``options``. Adds ``verified`` to the result: ``full`` (the check
    ran) or ``unchanged`` (remembered). ``write=False`` (check mode) never writes the state."""
    try:
        before = files_digest(data_dir)
    except (NotCacheable, OSError):
        before = None
    if before is not None:
        cached = lookup(state_path, data_dir, before, options)
        if cached is not None:
            cached["verified"] = "unchanged"
            return cached
    result = check()
    result["verified"] = "full"
    if write and before is not None and result.get("valid") is True:
        try:
            after = files_digest(data_dir)
        except (NotCacheable, OSError):
            after = None
        if after == before:
            try:
                remember(state_path, data_dir, before, options,
                         {k: v for k, v in result.items() if k != "verified"})
            except OSError as exc:
                # Only the next run's speed depends on it: say so, do not fail a check that passed.
                result["verified_warning"] = "cannot remember the verification in %s (%s); the next run " \
                                             "checks the data dir in full again" % (state_path, exc.strerror or exc)
    return result
