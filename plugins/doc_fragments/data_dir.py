# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Shared documentation of the O(data_dir) option (charon's data directory).

Use with ``extends_documentation_fragment: [dvops.charon.data_dir]``; what a module reads or
writes there belongs in that module's own description.
"""

from __future__ import annotations


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  data_dir:
    description:
      - charon's data directory (C(charon --data-dir), C(/opt/charon/.charon) in the node stack). It holds the node's
        ENR private key C(charon-enr-private-key), the cluster definition and lock, the deposit data files and
        C(validator_keys/) (C(keystore-<i>.json) and its password file C(keystore-<i>.txt)).
      - What the module reads and writes there is in its description.
    type: path
    required: true
'''
