#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: charon_owner
short_description: Hand a charon data directory to the container user without ever following a link
version_added: 0.1.0
description:
  - Sets owner and group of O(path) and of every directory and regular file below it, like C(chown -R), but never
    through a symbolic link. The charon container mounts its data dir read-write, so a compromised container can
    plant links there; C(ansible.builtin.file) with C(recurse) follows them by default and would hand their targets
    (whole trees included) to the container user.
  - Walks by directory descriptors opened with C(O_NOFOLLOW) and changes entries with C(lchown) semantics, so an
    entry swapped for a link while the walk runs is not followed either.
  - Symbolic links, FIFOs, sockets and device nodes inside are skipped and reported in RV(skipped) (a device node
    handed to the container user would hand it the device).
  - Refuses an O(path) that is itself a symbolic link. Modes are never changed.
author:
  - dvops.charon contributors (@dvops)
options:
  path:
    description: The directory (charon's data dir).
    type: path
    required: true
  owner:
    description: Owner, as a user name or a numeric uid (charon's container runs as V(1000)).
    type: str
    default: '1000'
  group:
    description: Group, as a group name or a numeric gid.
    type: str
    default: '1000'
attributes:
  check_mode:
    support: full
    description: Reports what would change (RV(changed_paths)) without changing it.
  diff_mode:
    support: none
    description: No diff is returned.
seealso:
  - module: ansible.builtin.file
'''

EXAMPLES = r'''
- name: Hand the data dir to the charon container user
  dvops.charon.charon_owner:
    path: /opt/charon/.charon
    owner: '1000'
    group: '1000'
'''

RETURN = r'''
changed_paths:
  description: Number of entries whose owner or group was (or, in check mode, would be) changed.
  returned: always
  type: int
  sample: 3
skipped:
  description: Links and special files inside O(path) that were left alone (their targets are never touched).
  returned: always
  type: list
  elements: str
  sample: [/opt/charon/.charon/evil-link]
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dvops.charon.plugins.module_utils import _files


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            owner=dict(type="str", default="1000"),
            group=dict(type="str", default="1000"),
        ),
        supports_check_mode=True,
    )
    result = dict(changed=False, changed_paths=0, skipped=[])
    try:
        _files.check_abs_path(module.params["path"], "path")
    except _files.UnsafePath as exc:
        module.fail_json(msg=str(exc), **result)
    path = os.path.abspath(module.params["path"])
    ids = []
    for field in ("owner", "group"):
        value = _files.resolve_id(module.params[field], field)
        if value is None:
            module.fail_json(msg="%s: %r is not a known name or a numeric id up to %d on this host"
                             % (field, module.params[field], _files.MAX_ID), **result)
        ids.append(value)
    try:
        _files.check_real_dir(path, "path")
        changed, skipped = _files.chown_tree(path, ids[0], ids[1], check=module.check_mode)
    except _files.UnsafePath as exc:
        module.fail_json(msg=str(exc), **result)
    except OSError as exc:
        module.fail_json(msg="path: cannot change the owner below %s: %s (run with become)" % (path, exc), **result)
    result.update(changed=bool(changed), changed_paths=len(changed), skipped=skipped)
    if skipped:
        module.warn("left %d link(s) or special file(s) in %s alone (never followed): %s"
                    % (len(skipped), path, ", ".join(skipped[:10])))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
