#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: charon_backup
short_description: Back files of a charon node up to the controller, ansible-vault encrypted with that node's own password
version_added: 0.1.0
description:
  - Reads O(paths) (files or directories) on the managed host and packs them into one deterministic tar there
    (sorted entries, owner 0, mtime 0, modes kept), so its SHA-256 changes only when content, names or modes change.
  - The vault password never goes to the host. The action plugin of the same name makes a one-time X25519 key
    in the controller's memory and sends only its public key; the host seals the tar to it (X25519, HKDF-SHA256,
    AES-256-GCM) and the controller opens it in memory and writes C(<dest>/<name>.vault) (Ansible vault 1.1
    AES256, 0600), C(<name>.sha256) and C(<name>.verifier) (a salted PBKDF2 check of the password).
    No module payload on the host, kept or not (C(ANSIBLE_KEEP_REMOTE_FILES)), holds the password.
  - A symlink among O(paths) or inside a directory is followed when its target lies inside O(root) (what the
    node actually reads) and its content is stored under the link's name; a link leaving O(root), a dangling
    link, a loop or a special file is refused.
  - A backup in O(dest) is replaced only when O(password) matches its verifier (or opens it). Otherwise the
    task fails, naming the host and what to do; changing the password is the explicit O(rotate) with
    O(old_password), which re-encrypts every backup in O(dest) on the controller.
  - O(preflight=true) only checks what a backup will need (password, ownership of the existing backups,
    O(dest) writable) without contacting the host, so a play can refuse before it makes keys.
  - Needs the C(cryptography) Python package on the managed host (the C(dvops.charon.python_deps) role) and on
    the controller (a dependency of ansible-core).
author:
  - dvops.charon contributors (@dvops)
options:
  paths:
    description:
      - Files or directories on the host to back up. Each is stored under its base name (a directory with its tree).
      - Base names must be unique. Required unless O(preflight=true).
    type: list
    elements: path
  root:
    description:
      - The directory the node uses (its charon data dir). Symlinks are followed only to targets inside it.
      - Default, for each path, the directory that contains it.
    type: path
  dest:
    description: Directory on the controller for this host's backups (created 0700).
    type: path
    required: true
  name:
    description: Base name of the backup files in O(dest).
    type: str
    required: true
  password:
    description:
      - This host's ansible-vault password. Stays on the controller; never logged or returned.
      - Required unless O(allow_plaintext=true).
    type: str
  allow_plaintext:
    description:
      - Without O(password), write the tar base64-encoded (C(<name>.tar.b64)) instead of failing.
      - Off by default because the controller then holds key material in the clear.
    type: bool
    default: false
  rotate:
    description:
      - Re-encrypt every backup in O(dest) from O(old_password) to O(password) before backing up.
      - Backups already under O(password) are left as they are, so a rerun changes nothing.
    type: bool
    default: false
  old_password:
    description: The password the backups in O(dest) were made with (for O(rotate)). Stays on the controller.
    type: str
  preflight:
    description: Only check O(password), the existing backups in O(dest) and that O(dest) is writable.
    type: bool
    default: false
  recipient:
    description:
      - Internal (set by the action plugin) - hex X25519 public key the host seals the tar to.
    type: str
  known_sha256:
    description:
      - Internal (set by the action plugin) - SHA-256 (hex) of the backup kept; when it matches, nothing is sealed.
    type: str
attributes:
  check_mode:
    support: full
    description: Reads and checks; writes nothing on the controller and reports what would change.
  diff_mode:
    support: none
    description: Backups are encrypted; there is nothing to show.
notes:
  - Restore with C(ansible-vault decrypt --output - FILE.vault | tar -x -C DIR).
  - The task runs on the host; the files are written on the controller (the action plugin).
seealso:
  - name: ansible-vault
    description: The tool that decrypts the result.
    link: https://docs.ansible.com/ansible/latest/cli/ansible-vault.html
'''

EXAMPLES = r'''
- name: Back the node key up to the controller, under this host's own password
  dvops.charon.charon_backup:
    paths:
      - /opt/charon/.charon/charon-enr-private-key
    root: /opt/charon/.charon
    dest: "backups/{{ inventory_hostname }}"
    name: charon-enr-private-key
    password: "{{ charon_backup_vault_password }}"
  vars:
    ansible_python_interpreter: "{{ python_deps_python }}"
  no_log: true

- name: Change that host's password (every backup in dest is re-encrypted)
  dvops.charon.charon_backup:
    paths: [/opt/charon/.charon/charon-enr-private-key]
    dest: "backups/{{ inventory_hostname }}"
    name: charon-enr-private-key
    password: "{{ new_password }}"
    old_password: "{{ old_password }}"
    rotate: true
  no_log: true
'''

RETURN = r'''
file:
  description: The backup file on the controller.
  returned: success
  type: str
  sample: backups/node1/charon-enr-private-key.vault
encrypted:
  description: Whether the backup is vault-encrypted (false with O(allow_plaintext) and no password).
  returned: always
  type: bool
  sample: true
sha256:
  description: SHA-256 (hex) of the plaintext tar (also in C(<name>.sha256)). V(null) with O(preflight).
  returned: always
  type: str
  sample: 3f0d3b1fd1d07e4ac4a6c1b2c0d4bb3b1fbc8e3f5b7a2d9d8e0c2f8a6b1d2e3f
up_to_date:
  description: Whether the kept backup already held this content under this password.
  returned: always
  type: bool
  sample: false
rotated:
  description: Names of the backups in O(dest) re-encrypted to the new password by O(rotate).
  returned: always
  type: list
  elements: str
  sample: [charon-enr-private-key, validator_keys]
members:
  description: Names stored in the tar (names only, no content).
  returned: always
  type: list
  elements: str
  sample: [charon-enr-private-key]
size:
  description: Size of the plaintext tar in bytes.
  returned: always
  type: int
  sample: 10240
'''

import base64
import binascii
import hashlib
import io
import os
import stat
import tarfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dvops.charon.plugins.module_utils import _backup_store, _deps, _vault


class PackError(ValueError):
    """A path cannot be backed up."""


def _normalize(info):
    # Owner and time are not part of a key; dropping them keeps the digest stable across reruns.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def _inside(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def resolve(full, root):
    """The real path the node reads at ``full``: symlinks are followed only to targets inside ``root``.

    charon runs in a container that mounts its data dir alone, so a link out of it is not what the
    node uses (and following it would copy whatever host file it names); a backup of the bare link
    would hold no key. Both are refused, as is a dangling link.
    """
    real = os.path.realpath(full)
    if os.path.islink(full) or real != os.path.abspath(full):
        if not os.path.exists(real):
            raise PackError("paths: %s is a symlink to %s, which does not exist: there is nothing to back up"
                            % (full, os.readlink(full) if os.path.islink(full) else real))
        if not _inside(real, root):
            raise PackError("paths: %s resolves to %s, outside %s: refusing to back up a link that leaves the data "
                            "dir (the node cannot use it there). Move the file into %s, replacing the link."
                            % (full, real, root, root))
    return real


def pack(paths, root=None):
    """Return (tar bytes, member names) for ``paths``; deterministic for the same content."""
    seen = {}
    for path in paths:
        base = os.path.basename(os.path.normpath(path))
        if not os.path.lexists(path):
            raise PackError("paths: %s does not exist on this host" % path)
        if base in seen:
            raise PackError("paths: %s and %s have the same base name %r" % (seen[base], path, base))
        seen[base] = path
    buf = io.BytesIO()
    members = []
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for base in sorted(seen):
            path = os.path.abspath(seen[base])
            top = os.path.realpath(root if root else os.path.dirname(path))
            for full, real, arc in _walk(path, base, top, ()):
                info = _normalize(tar.gettarinfo(real, arcname=arc))
                if info.isreg():
                    fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
                    with os.fdopen(fd, "rb") as handle:
                        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                            raise PackError("paths: %s changed while it was read" % full)
                        tar.addfile(info, handle)
                elif info.isdir():
                    tar.addfile(info)
                else:
                    raise PackError("paths: %s is neither a file nor a directory" % full)
                members.append(arc)
    return buf.getvalue(), members


def _walk(full, arc, root, parents):
    real = resolve(full, root)
    yield full, real, arc
    if os.path.isdir(real):
        if real in parents:
            raise PackError("paths: %s leads back to %s (a symlink loop)" % (full, real))
        for name in sorted(os.listdir(real)):
            yield from _walk(os.path.join(full, name), arc + "/" + name, root, parents + (real,))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            _backup_store.TASK_OPTIONS,
            recipient=dict(type="str"),
            known_sha256=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    result = dict(changed=False, sealed=None, sha256=None, up_to_date=False, members=[], size=0)
    # The controller side (the action plugin) keeps the passwords; reaching the host means it was bypassed.
    if p["password"] or p["old_password"]:
        module.fail_json(msg="password: the vault password reached the host; this module must run through its action "
                         "plugin (dvops.charon.charon_backup), which keeps it on the controller", **result)
    if not p["paths"]:
        module.fail_json(msg="paths: give at least one file or directory to back up", **result)
    try:
        recipient = binascii.unhexlify(p["recipient"] or "")
    except (binascii.Error, ValueError):
        recipient = b""
    if len(recipient) != _vault.X25519_LEN:
        module.fail_json(msg="recipient: a hex X25519 public key (32 bytes) is required", **result)
    try:
        _deps.require("cryptography")
    except _deps.MissingDependency as exc:
        module.fail_json(msg=str(exc), **result)
    try:
        data, members = pack(p["paths"], p["root"])
    except PackError as exc:
        module.fail_json(msg=str(exc), **result)
    except (IOError, OSError) as exc:
        module.fail_json(msg="paths: cannot read %s: %s" % (getattr(exc, "filename", None) or "a path", exc.strerror or exc), **result)
    digest = hashlib.sha256(data).hexdigest()
    result.update(sha256=digest, members=members, size=len(data))
    if (p["known_sha256"] or "").strip().lower() == digest:
        result["up_to_date"] = True
        module.exit_json(**result)
    try:
        result["sealed"] = base64.b64encode(_vault.seal(data, recipient)).decode("ascii")
    except _vault.VaultError as exc:
        module.fail_json(msg="recipient: %s" % exc, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
