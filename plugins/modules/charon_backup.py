#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: charon_backup
short_description: Pack files of a charon node into a tar and encrypt it with ansible-vault on the host
version_added: 0.1.0
description:
  - Reads O(paths) (files or directories) on the managed host, packs them into one tar and encrypts it
    there in the Ansible vault 1.1 AES256 format, so key material never leaves the host unencrypted.
  - Returns the vault text and the SHA-256 of the plaintext tar. The tar is deterministic (sorted entries,
    owner 0, mtime 0, modes kept), so the digest changes only when content, names or modes change.
  - When O(known_sha256) equals the digest, no vault text is produced (the backup on the controller is current).
  - The module never changes the host; it always reports no change. The role C(dvops.charon.charon),
    entry point C(backup), writes the result to the controller.
  - Needs the C(cryptography) Python package on the managed host (the C(dvops.charon.python_deps) role).
author:
  - dvops.charon contributors (@dvops)
options:
  paths:
    description:
      - Files or directories to back up. Each is stored under its base name (a directory with its tree).
      - Base names must be unique.
    type: list
    elements: path
    required: true
  password:
    description:
      - The ansible-vault password to encrypt with. Never logged or returned.
      - Required unless O(allow_plaintext=true).
    type: str
  allow_plaintext:
    description:
      - Without O(password), return the tar base64-encoded instead of failing.
      - Off by default because the result then carries key material in the clear.
    type: bool
    default: false
  known_sha256:
    description:
      - SHA-256 (hex) of the plaintext of the backup already kept; when it matches (and O(known_verifier) matches
        O(password)), RV(content) is V(null).
    type: str
  known_verifier:
    description:
      - RV(verifier) returned when the kept backup was made. When it does not match O(password), the backup is
        produced again, so a changed password re-encrypts it.
    type: str
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode returns the same result.
  diff_mode:
    support: none
    description: Nothing on the host changes, so there is nothing to show.
notes:
  - Restore with C(ansible-vault decrypt --output - FILE.vault | tar -x -C DIR).
seealso:
  - name: ansible-vault
    description: The tool that decrypts the result.
    link: https://docs.ansible.com/ansible/latest/cli/ansible-vault.html
'''

EXAMPLES = r'''
- name: Encrypt the node key on the host
  dvops.charon.charon_backup:
    paths:
      - /opt/charon/.charon/charon-enr-private-key
    password: "{{ charon_backup_vault_password }}"
  vars:
    ansible_python_interpreter: "{{ python_deps_python }}"
  register: backup
  no_log: true

- name: Keep it on the controller
  ansible.builtin.copy:
    content: "{{ backup.content }}"
    dest: "backups/{{ inventory_hostname }}/charon-enr-private-key.vault"
    mode: "0600"
  delegate_to: localhost
  when: backup.content is not none
  no_log: true
'''

RETURN = r'''
content:
  description:
    - The vault text (when encrypted) or the base64 of the tar (O(allow_plaintext) without O(password)).
    - V(null) when O(known_sha256) matches.
  returned: always
  type: str
  sample: "$ANSIBLE_VAULT;1.1;AES256\n6231..."
encrypted:
  description: Whether RV(content) is vault-encrypted.
  returned: always
  type: bool
  sample: true
sha256:
  description: SHA-256 (hex) of the plaintext tar.
  returned: always
  type: str
  sample: 3f0d3b1fd1d07e4ac4a6c1b2c0d4bb3b1fbc8e3f5b7a2d9d8e0c2f8a6b1d2e3f
verifier:
  description:
    - Salted PBKDF2 verifier of O(password) (same KDF as the vault), to keep beside the backup and pass back
      as O(known_verifier). V(null) without a password.
  returned: always
  type: str
  sample: pbkdf2-sha256$10000$9b1c...$41d3...
up_to_date:
  description: Whether O(known_sha256) matched RV(sha256) (and O(known_verifier) the password).
  returned: always
  type: bool
  sample: false
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
import hashlib
import io
import os
import tarfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dvops.charon.plugins.module_utils import _deps, _vault


class PackError(ValueError):
    """A path cannot be backed up."""


def _normalize(info):
    # Owner and time are not part of a key; dropping them keeps the digest stable across reruns.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def pack(paths):
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
            for full, arc in _walk(seen[base], base):
                info = _normalize(tar.gettarinfo(full, arcname=arc))
                if info.isreg():
                    with open(full, "rb") as handle:
                        tar.addfile(info, handle)
                elif info.isdir() or info.issym():
                    tar.addfile(info)
                else:
                    raise PackError("paths: %s is neither a file, a directory nor a symlink" % full)
                members.append(arc)
    return buf.getvalue(), members


def _walk(path, arc):
    yield path, arc
    if os.path.isdir(path) and not os.path.islink(path):
        for name in sorted(os.listdir(path)):
            yield from _walk(os.path.join(path, name), arc + "/" + name)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path", required=True),
            password=dict(type="str", no_log=True),
            allow_plaintext=dict(type="bool", default=False),
            known_sha256=dict(type="str"),
            known_verifier=dict(type="str", no_log=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    result = dict(changed=False, content=None, encrypted=bool(p["password"]), sha256=None, up_to_date=False, members=[], size=0,
                  verifier=None)
    if not p["paths"]:
        module.fail_json(msg="paths: give at least one file or directory to back up", **result)
    if not p["password"] and not p["allow_plaintext"]:
        module.fail_json(msg="password: no vault password given; refusing to return key material unencrypted. Set a password "
                         "(charon_backup_vault_password) or allow_plaintext=true to accept a plaintext copy.", **result)
    if p["password"]:
        try:
            _deps.require("cryptography")
        except _deps.MissingDependency as exc:
            module.fail_json(msg=str(exc), **result)
    try:
        data, members = pack(p["paths"])
    except PackError as exc:
        module.fail_json(msg=str(exc), **result)
    except (IOError, OSError) as exc:
        module.fail_json(msg="paths: cannot read %s: %s" % (getattr(exc, "filename", None) or "a path", exc.strerror or exc), **result)
    digest = hashlib.sha256(data).hexdigest()
    result.update(sha256=digest, members=members, size=len(data))
    known = (p["known_sha256"] or "").strip().lower()
    if p["password"]:
        # Same password as the kept backup: keep its verifier, so the file beside it stays as it is.
        if _vault.verifier_matches(p["password"], p["known_verifier"]):
            result["verifier"] = p["known_verifier"].strip()
            same_key = True
        else:
            result["verifier"] = _vault.password_verifier(p["password"])
            same_key = False
    else:
        same_key = not p["known_verifier"]
    if known == digest and same_key:
        result["up_to_date"] = True
        module.exit_json(**result)
    if p["password"]:
        result["content"] = _vault.encrypt(data, p["password"])
    else:
        result["content"] = base64.b64encode(data).decode("ascii")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
