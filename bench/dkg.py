#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Figures for the native DKG (not pass/fail): 4 nodes on this machine, the pure module_utils rounds.

Each phase runs the four nodes as separate processes at once (like four hosts driven by Ansible's
forks), so the wall time per phase is what an operator waits on this machine; "cpu" is the sum of
the nodes' own CPU times (on four real hosts each spends a quarter of it, in parallel).  On a shared,
loaded machine the wall figures grow with the load; the cpu column does not.

    PYTHONPATH=.ansible/collections .venv/bin/python bench/dkg.py [--validators 1 10 100] [--no-keystores]
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor

from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _dkg, _enr, _k1, _keystore

N = 4


def _node(job):
    phase, definition_json, index, key, state, messages = job
    d = _cluster.parse_definition(definition_json)
    params = _dkg.params_from_definition(d)
    start = time.process_time()
    if phase == "round1":
        out = _dkg.round1(params, index, key)
    elif phase == "round2":
        out = _dkg.round2(params, state, messages, key)
    elif phase == "round3":
        out = _dkg.round3(params, state, messages, key, _dkg.lock_builder(d))
    else:
        out = _dkg.finish(params, state, messages)
    return out, time.process_time() - start


def _keystores(shares):
    start = time.process_time()
    _keystore.encrypt_many(shares, workers=1)
    return time.process_time() - start


def run(num_validators, pool, keystores):
    keys = [_k1.generate_private_key() for dummy in range(N)]
    d = _cluster.new_definition("bench", [_enr.node_record(k) for k in keys], num_validators, "0x" + "11" * 20,
                                "0x" + "22" * 20, network="hoodi", dkg_algorithm=_dkg.ALGORITHM)
    djson = _cluster.marshal_definition(d).decode()
    figures = []
    states, messages, sizes = [None] * N, [], {}
    for phase in ("round1", "round2", "round3", "finish"):
        start = time.perf_counter()
        jobs = [(phase, djson, i + 1, keys[i], states[i], messages) for i in range(N)]
        results = list(pool.map(_node, jobs))
        wall = time.perf_counter() - start
        cpu = sum(r[1] for r in results)
        if phase != "finish":
            states = [r[0][0] for r in results]
            messages = [r[0][1] for r in results]
            sizes[phase] = sum(len(_dkg._tc.canonical(m)) for m in messages)  # pylint: disable=protected-access
        else:
            finished = [r[0] for r in results]
        figures.append((phase, wall, cpu))
    start = time.perf_counter()
    lock = _dkg.assemble_lock(d, finished[0][0])
    report = _cluster.verify_lock(lock)
    assert report.valid, report.as_dict()
    assert len({bytes(_dkg.assemble_lock(d, f[0]).lock_hash) for f in finished}) == 1
    wall = time.perf_counter() - start
    figures.append(("verify lock (1 node)", wall, wall))
    if keystores:
        start = time.perf_counter()
        cpu = sum(pool.map(_keystores, [f[1] for f in finished]))
        figures.append(("keystores (%d pbkdf2)" % (N * num_validators), time.perf_counter() - start, cpu))
    return figures, sizes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--validators", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--no-keystores", action="store_true")
    args = parser.parse_args()
    print("native DKG, %d nodes on %d CPUs (nodes run as parallel processes)" % (N, os.cpu_count()))
    with ProcessPoolExecutor(max_workers=N) as pool:
        for v in args.validators:
            figures, sizes = run(v, pool, not args.no_keystores)
            print("\n%d validators (messages relayed per round, all nodes: %s)"
                  % (v, ", ".join("%s %.1f kB" % (k, n / 1e3) for k, n in sorted(sizes.items()))))
            print("  %-24s %9s %9s" % ("phase", "wall s", "cpu s"))
            for name, wall, cpu in figures:
                print("  %-24s %9.3f %9.3f" % (name, wall, cpu))
            print("  %-24s %9.3f %9.3f" % ("total", sum(f[1] for f in figures), sum(f[2] for f in figures)))


if __name__ == "__main__":
    main()
