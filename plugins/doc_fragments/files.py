# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Shared documentation of the owner/group/mode options of modules that write charon files.

Use with ``extends_documentation_fragment: [dvops.charon.files]``.  A module whose file needs
another default mode (a lock 0444, ...) redefines ``mode`` in its own DOCUMENTATION: a
module's option entry replaces the fragment's one as a whole.
"""

from __future__ import annotations


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  owner:
    description:
      - Owner of the written file, as a user name or a numeric uid.
      - The default V(1000) is the uid the charon container runs as, so the container can read its files
        even when no such user exists on the host.
      - Drift on an existing file is corrected (and reported as a change).
    type: str
    default: '1000'
  group:
    description:
      - Group of the written file, as a group name or a numeric gid.
      - The default V(1000) is the gid the charon container runs as.
    type: str
    default: '1000'
  mode:
    description:
      - Permissions of the written file, as an octal string such as V('0600') or an integer.
      - Quote it. Unquoted, YAML reads V(0600) as octal but V(600) as the decimal number 600, which is not what you want.
      - Drift on an existing file is corrected (and reported as a change).
    type: raw
    default: '0600'
'''
