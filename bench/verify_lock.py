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


if __name__ == "__main__":
    main()
