# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Controller side of dvops.charon.charon_backup: the vault password never leaves the controller.

The module on the host receives only a one-time X25519 public key (made here, kept in memory for
this task) and returns the tar sealed to it; this plugin opens it, encrypts it with the host's
password and writes the files (module_utils/_backup_store). So no module payload on the host,
not even one kept with ANSIBLE_KEEP_REMOTE_FILES=1, and no command line there holds the password.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.dvops.charon.plugins.module_utils import _backup_store, _vault

MODULE = "dvops.charon.charon_backup"

ARGUMENT_SPEC = _backup_store.TASK_OPTIONS


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        try:
            dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            return dict(result, failed=True, msg=str(exc))
        host = (task_vars or {}).get("inventory_hostname", "this host")
        password = args["password"] or None
        check_mode = self._task.check_mode
        result.update(changed=False, encrypted=bool(password), sha256=None, up_to_date=False, rotated=[], members=[],
                      size=0, file=None)

        def fail(msg):
            result.update(failed=True, msg=msg)
            return result

        if not password and not args["allow_plaintext"]:
            return fail("No charon_backup_vault_password for %s: the backup %s would hold key material in the clear. Set "
                        "this host's own password (host_vars, ansible-vault encrypted), or set "
                        "charon_backup_allow_plaintext: true to accept a plaintext copy." % (host, args["name"]))
        if args["rotate"] and not password:
            return fail("%s: charon_backup_rotate=true needs the new password in charon_backup_vault_password" % host)
        if args["rotate"] and args["old_password"] == password:
            return fail("%s: charon_backup_rotate=true with the same old and new password: nothing to rotate; "
                        "set charon_backup_rotate=false" % host)
        dest = args["dest"]
        try:
            created = _backup_store.ensure_dir(dest, host, check_mode)
            to_rotate = _backup_store.check_owner(dest, host, password, args["rotate"], args["old_password"])
        except _backup_store.StoreError as exc:
            return fail(str(exc))
        result["changed"] = created
        if args["preflight"]:
            return result
        if not args["paths"]:
            return fail("paths: give at least one file or directory of %s to back up" % host)

        if to_rotate:
            if not check_mode:
                _backup_store.rotate(dest, to_rotate, args["old_password"], password)
            result.update(changed=True, rotated=to_rotate)

        private, public = _vault.new_recipient()
        module_args = dict(paths=args["paths"], dest=dest, name=args["name"],
                           recipient=binascii.hexlify(public).decode("ascii"))
        if args["root"]:
            module_args["root"] = args["root"]
        known = _backup_store.known_sha256(dest, args["name"], bool(password))
        if known:
            module_args["known_sha256"] = known
        res = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
        if res.get("failed"):
            return fail("Backup %s of %s: %s" % (args["name"], host, res.get("msg", "failed")))
        suffix = _backup_store.VAULT if password else _backup_store.PLAIN
        result.update(sha256=res.get("sha256"), up_to_date=bool(res.get("up_to_date")), members=res.get("members", []),
                      size=res.get("size", 0), file="%s/%s%s" % (dest.rstrip("/"), args["name"], suffix))
        if result["up_to_date"]:
            if _backup_store.needs_verifier(dest, args["name"], password):
                if not check_mode:
                    _backup_store.write_verifier(dest, args["name"], password)
                result["changed"] = True
            return result
        try:
            tar = _vault.open_sealed(base64.b64decode(res.get("sealed") or ""), private)
        except (_vault.VaultError, binascii.Error, ValueError) as exc:
            return fail("Backup %s of %s: the sealed tar from the host does not open: %s" % (args["name"], host, exc))
        if hashlib.sha256(tar).hexdigest() != result["sha256"]:
            return fail("Backup %s of %s: the tar does not match the digest the host reported" % (args["name"], host))
        if not check_mode:
            try:
                _backup_store.write(dest, args["name"], tar, result["sha256"], password)
            except OSError as exc:
                return fail("Backup %s of %s: cannot write %s on the controller: %s" % (args["name"], host, dest, exc))
        result["changed"] = True
        return result
