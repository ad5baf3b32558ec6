# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""The controller's side of node backups: one directory per host, every backup in it under that host's password.

<dest>/<name>.vault     ansible-vault 1.1 AES256 of the tar (0600)
<dest>/<name>.sha256    sha256sum line of the plaintext tar (tells whether the backup is current)
<dest>/<name>.verifier  salted PBKDF2 check of the password (_vault.password_verifier)
<dest>/<name>.tar.b64   the tar in base64, only when plaintext was allowed and no password is set

A backup is replaced only by a password that proves it owns it (the verifier matches, or, without a
verifier, the vault opens); changing the password is ``rotate``, which needs the old one and
re-encrypts every backup of the directory, so all of a host's backups stay under one password.
Runs on the controller (the charon_backup action plugin), which keeps the passwords.
"""

from __future__ import annotations

import base64
import os
import tempfile

from ansible_collections.dvops.charon.plugins.module_utils import _files, _vault

VAULT = ".vault"
PLAIN = ".tar.b64"
DIGEST = ".sha256"
VERIFIER = ".verifier"

# The options of a charon_backup task as the operator writes them (the action plugin validates them;
# the module on the host takes these plus the ones the action plugin adds: recipient, known_sha256).
TASK_OPTIONS = dict(
    paths=dict(type="list", elements="path"),
    root=dict(type="path"),
    dest=dict(type="path", required=True),
    name=dict(type="str", required=True),
    password=dict(type="str", no_log=True),
    allow_plaintext=dict(type="bool", default=False),
    rotate=dict(type="bool", default=False),
    old_password=dict(type="str", no_log=True),
    preflight=dict(type="bool", default=False),
)


class StoreError(ValueError):
    """The backups on the controller cannot be written as asked; the message says what to do."""


def _read(path):
    with open(path, "r") as handle:
        return handle.read()


def vault_names(dest):
    """Names of the vault backups in ``dest`` (sorted); empty when it does not exist."""
    if not os.path.isdir(dest):
        return []
    return sorted(n[:-len(VAULT)] for n in os.listdir(dest) if n.endswith(VAULT) and not n.startswith("."))


def owned_by(dest, name, password):
    """True when ``password`` made the backup ``name`` in ``dest``: its verifier matches, or it opens."""
    verifier = os.path.join(dest, name + VERIFIER)
    if os.path.exists(verifier):
        return _vault.verifier_matches(password, _read(verifier))
    try:
        _vault.decrypt(_read(os.path.join(dest, name + VAULT)), password)
    except (_vault.VaultError, UnicodeError):
        return False
    return True


def check_owner(dest, host, password, rotate=False, old_password=None):
    """Return the names ``rotate`` must re-encrypt; StoreError when a backup is not ``password``'s to replace."""
    if not password:
        return []
    names = vault_names(dest)
    foreign = [n for n in names if not owned_by(dest, n, password)]
    if not foreign:
        return []
    if not rotate:
        raise StoreError(
            "%s: the backups %s in %s were made with another password than this host's charon_backup_vault_password; "
            "nothing was written. If the password is mistyped, correct it. To change it on purpose, run again with "
            "charon_backup_rotate=true and the old password in charon_backup_old_vault_password (every backup of the "
            "host is re-encrypted). If the old password is lost, those backups cannot be opened any more: move %s "
            "away and run again to make new ones." % (host, ", ".join(foreign), dest, dest))
    if not old_password:
        raise StoreError("%s: charon_backup_rotate=true needs the old password in charon_backup_old_vault_password"
                         % host)
    lost = [n for n in foreign if not owned_by(dest, n, old_password)]
    if lost:
        raise StoreError(
            "%s: the backups %s in %s open with neither charon_backup_old_vault_password nor "
            "charon_backup_vault_password; nothing was rotated. Give the password they were made with as the old "
            "one, or move %s away if it is lost." % (host, ", ".join(lost), dest, dest))
    return foreign


def rotate(dest, names, old_password, password):
    """Re-encrypt the vault backups ``names`` in ``dest`` from ``old_password`` to ``password`` (atomic per file).

    The vault is replaced before its verifier; a run stopped in between leaves a vault that opens with the
    new password beside the old verifier, which the next rotation detects and only completes.
    """
    for name in names:
        path = os.path.join(dest, name + VAULT)
        text = _read(path)
        try:
            plain = _vault.decrypt(text, old_password)
            _files.write_atomic(path, _vault.encrypt(plain, password).encode("ascii"), mode=0o600, overwrite=True)
        except _vault.VaultError:
            _vault.decrypt(text, password)  # already re-encrypted by a rotation that stopped before the verifier
        _files.write_atomic(os.path.join(dest, name + VERIFIER), (_vault.password_verifier(password) + "\n").encode("ascii"),
                            mode=0o600, overwrite=True)
    return list(names)


def ensure_dir(dest, host, check_mode=False):
    """Create ``dest`` (0700) unless it exists and make sure files can be written there; True when created."""
    created = False
    try:
        if not os.path.isdir(dest):
            if check_mode:
                parent = os.path.abspath(dest)
                while not os.path.lexists(parent):
                    parent = os.path.dirname(parent)
                if not os.path.isdir(parent):
                    raise OSError(20, "Not a directory", parent)
                if not os.access(parent, os.W_OK | os.X_OK):
                    raise OSError(13, "Permission denied", parent)
                return True
            os.makedirs(dest, mode=0o700)
            created = True
        fd, probe = tempfile.mkstemp(prefix=".dvops-write-check.", dir=dest)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StoreError("%s: the backup directory %s on the controller is not writable (%s): set charon_backup_dir "
                         "to a directory the user running ansible-playbook can write" % (host, dest, exc.strerror or exc))
    return created


def known_sha256(dest, name, encrypted):
    """The digest recorded for the backup ``name``, trusted only while the backup itself is there."""
    backup = os.path.join(dest, name + (VAULT if encrypted else PLAIN))
    digest = os.path.join(dest, name + DIGEST)
    if not (os.path.isfile(backup) and os.path.isfile(digest)):
        return None
    try:
        return _read(digest)[:64].strip().lower() or None
    except (OSError, UnicodeError):
        return None


def needs_verifier(dest, name, password):
    """True when ``name`` has no verifier of ``password`` (none yet, or a stray one without its vault)."""
    path = os.path.join(dest, name + VERIFIER)
    return bool(password) and not (os.path.exists(path) and _vault.verifier_matches(password, _read(path)))


def write(dest, name, tar, sha256, password):
    """Write the backup of ``tar`` (bytes) as ``name`` in ``dest``: vault (or base64 without password), digest, verifier."""
    if password:
        path = os.path.join(dest, name + VAULT)
        _files.write_atomic(path, _vault.encrypt(tar, password).encode("ascii"), mode=0o600, overwrite=True)
    else:
        path = os.path.join(dest, name + PLAIN)
        _files.write_atomic(path, base64.b64encode(tar) + b"\n", mode=0o600, overwrite=True)
    # sha256sum format, so a restored tar can be checked: ... | sha256sum -c
    _files.write_atomic(os.path.join(dest, name + DIGEST), ("%s  %s.tar\n" % (sha256, name)).encode("ascii"),
                        mode=0o600, overwrite=True)
    write_verifier(dest, name, password)
    return path


def write_verifier(dest, name, password):
    """Record the password check of ``name`` unless one already matching it is there."""
    if needs_verifier(dest, name, password):
        _files.write_atomic(os.path.join(dest, name + VERIFIER), (_vault.password_verifier(password) + "\n").encode("ascii"),
                            mode=0o600, overwrite=True)
