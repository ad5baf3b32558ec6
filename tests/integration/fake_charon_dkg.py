#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""FAKE `charon dkg` FOR TESTS ONLY (the charon image cannot be pulled here).

    fake_charon_dkg.py <fixture root> dkg --data-dir D --definition-file F [other charon dkg flags]

Like charon, it requires D/charon-enr-private-key and the definition file, and refuses a data dir that
is not clean; then, instead of a ceremony, it copies the artifacts that the trusted-dealer fixture
made for the node whose key is in D (cluster-lock.json, deposit-data*.json, validator_keys/) into D.
Each call is appended to <fixture root>/calls.log.
"""

from __future__ import annotations

import os
import shutil
import sys


def main(argv):
    root, args = argv[1], argv[2:]
    if not args or args[0] != "dkg":
        sys.exit("fake charon: only 'dkg' is implemented")
    opts = dict(zip(args[1::2], args[2::2]))
    data_dir, definition = opts.get("--data-dir"), opts.get("--definition-file")
    with open(os.path.join(root, "calls.log"), "a") as log:
        log.write(" ".join(args) + "\n")
    if not definition or not os.path.exists(definition):
        sys.exit("fake charon: definition file %r not found" % definition)
    with open(os.path.join(data_dir, "charon-enr-private-key")) as f:
        key = f.read().strip()
    for name in os.listdir(data_dir):
        if name in ("cluster-lock.json", "validator_keys") or name.startswith("deposit-data"):
            sys.exit("fake charon: data directory not clean")
    for node in sorted(os.listdir(root)):
        src = os.path.join(root, node)
        key_file = os.path.join(src, "charon-enr-private-key")
        if os.path.isfile(key_file) and open(key_file).read().strip() == key:
            for name in os.listdir(src):
                if name == "validator_keys":
                    shutil.copytree(os.path.join(src, name), os.path.join(data_dir, name))
                elif name == "cluster-lock.json" or name.startswith("deposit-data"):
                    shutil.copy(os.path.join(src, name), os.path.join(data_dir, name))
            return 0
    sys.exit("fake charon: this node's key is not an operator of the fixture cluster")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
