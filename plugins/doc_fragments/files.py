# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Shared documentation of the owner/group (and mode) options of modules that write charon files.

``extends_documentation_fragment: [dvops.charon.files]`` documents O(owner) and O(group);
add ``dvops.charon.files.mode`` for O(mode).  A module whose option differs (another default
mode, a lock 0444, no default owner...) redefines it in its own DOCUMENTATION: a module's option
entry replaces the fragment's one as a whole.  The argument spec of these options is
``_files.ownership_spec()``.
"""

from __future__ import annotations


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  owner:
    description:
      - Owner of the files and directories the module writes or hands over, as a user name or a numeric uid.
      - The default V(1000) is the uid the charon container runs as, so the container can read its files
        even when no such user exists on the host.
    type: str
    default: '1000'
  group:
    description:
      - Group of the files and directories the module writes or hands over, as a group name or a numeric gid.
      - The default V(1000) is the gid the charon container runs as.
    type: str
    default: '1000'
'''

    MODE = r'''
options:
  mode:
    description:
      - Permissions of the written file, as an octal string such as V('0600') or an integer.
      - Quote it. Unquoted, YAML reads V(0600) as octal but V(600) as the decimal number 600, which is not what you want.
      - Drift of the mode, owner or group of an existing file is corrected (and reported as a change).
    type: raw
    default: '0600'
'''
