#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Figure: verifying a big signed lock (not pass/fail).

Builds a 10-operator, 1,000-validator v1.10 lock with the cluster factory (trusted dealer,
signed definition, registrations, two partial deposits per DV, aggregate, node signatures),
then times ``_cluster.verify_lock`` and prints seconds per check.

    PYTHONPATH=.ansible/collections .venv/bin/python bench/verify_lock.py [--validators 1000] [--operators 10]
"""

from __future__ import annotations

import argparse
import time

from ansible_collections.dvops.charon.plugins.module_utils import _cluster
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster


def calibrate():
    """Cost of the two dominant primitives right now (the machine may be shared)."""
    from ansible_collections.dvops.charon.plugins.module_utils import _bls
    from ansible_collections.dvops.charon.plugins.module_utils._deps import require
    lib = require("py_arkworks_bls12381")
    keys = [_bls.secret_to_public(k + 2) for k in range(200)]
    start = time.perf_counter()
    for i in range(200):
        lib.G2Point.hash_to_curve(i.to_bytes(32, "big"), _bls.DST)
    h2c = (time.perf_counter() - start) / 200
    start = time.perf_counter()
    for k in keys:
        lib.G1Point.from_compressed_bytes(k)
    g1 = (time.perf_counter() - start) / 200
    print("now: hash_to_curve %.3f ms, checked G1 decompression %.3f ms" % (h2c * 1e3, g1 * 1e3))
    return h2c, g1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--validators", type=int, default=1000)
    parser.add_argument("--operators", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    start = time.perf_counter()
    c = build_cluster(seed=b"bench", n=args.operators, num_validators=args.validators)
    raw = c.lock_json
    print("generate %d-of-%d lock, %d validators: %.1f s (%d bytes of JSON)"
          % (c.definition.threshold, args.operators, args.validators, time.perf_counter() - start, len(raw)))

    h2c, g1 = calibrate()
    for _round in range(args.rounds):
        timings = {}
        start = time.perf_counter()
        lock = _cluster.parse_lock(raw, "bench-lock.json")
        timings["parse"] = time.perf_counter() - start
        start = time.perf_counter()
        report = _cluster.verify_lock(lock, timings=timings)
        total = time.perf_counter() - start
        assert report.valid, report.errors[:5]
        print("%-24s %8s" % ("check", "seconds"))
        for name, secs in timings.items():
            print("%-24s %8.3f" % (name, secs))
        print("%-24s %8.3f  (all %d checks passed; parse not included)" % ("verify_lock total", total,
                                                                           len(report.checks)))
        n_sigs = args.validators * (1 + len(c.amounts))
        n_points = args.validators * (args.operators + 1)
        print("of which %d hash_to_curve (%.1f s) and %d G1 decompressions (%.1f s) at the costs measured above"
              % (n_sigs, n_sigs * h2c, n_points, n_points * g1))


if __name__ == "__main__":
    main()
