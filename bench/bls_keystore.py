#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Figures for _bls and _keystore (not pass/fail).

    PYTHONPATH=.ansible/collections .venv/bin/python bench/bls_keystore.py [--keystores 400]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _keystore
from ansible_collections.dvops.charon.tests.fixtures.dealer import deal


def per_call(label, func, n):
    start = time.perf_counter()
    for i in range(n):
        func(i)
    print("%-44s %8.3f ms" % (label, (time.perf_counter() - start) / n * 1e3))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keystores", type=int, default=400)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    v = deal(seed=b"bench", n=10, t=7).validators[0]
    sk, pk = v.secret, v.pubkey
    msgs = [os.urandom(32) for dummy in range(200)]
    sigs = [_bls.sign(sk, m) for m in msgs]
    # hash_to_curve results are cached per message: time cold and warm separately.
    _bls._hash_cached.cache_clear()  # pylint: disable=protected-access
    per_call("verify (new message)", lambda i: _bls.verify(pk, msgs[i], sigs[i]), 200)
    per_call("verify (message hashed before)", lambda i: _bls.verify(pk, msgs[i], sigs[i]), 200)
    fresh = [os.urandom(32) for dummy in range(200)]
    per_call("sign (new message)", lambda i: _bls.sign(sk, fresh[i]), 200)
    per_call("secret_to_public", lambda i: _bls.secret_to_public(sk + i), 200)
    per_call("g1_eval_commitments (t=7)", lambda i: _bls.g1_eval_commitments(v.commitments, i + 1), 200)
    parts = v.partial_signatures(msgs[0], xs=list(range(1, 8)))
    per_call("interpolate_g2 (7 partials, parsed cached)", lambda i: _bls.interpolate_g2(parts), 100)
    shares = v.public_shares_list()
    per_call("fast_aggregate_verify (10 keys)", lambda i: _bls.fast_aggregate_verify(shares, msgs[0], sigs[0]), 100)
    items = list(zip([pk] * 100, msgs[:100], sigs[:100]))
    _bls._hash_cached.cache_clear()  # pylint: disable=protected-access
    start = time.perf_counter()
    assert _bls.batch_verify(items)
    print("%-44s %8.3f ms" % ("batch_verify, per signature (100)", (time.perf_counter() - start) / 100 * 1e3))

    secret = _bls.sk_to_bytes(sk)
    per_call("keystore encrypt, pbkdf2 2^18", lambda i: _keystore.encrypt(secret, "pw"), 5)
    secrets_ = [_bls.sk_to_bytes(k) for k in range(1, args.keystores + 1)]
    start = time.perf_counter()
    _keystore.encrypt_many(secrets_, workers=args.workers)
    print("%-44s %8.2f s" % ("encrypt_many %d keystores, 2^18" % args.keystores, time.perf_counter() - start))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        _keystore.write_keystores(os.path.join(tmp, "vk"), secrets_[:50], workers=args.workers)
        print("%-44s %8.2f s" % ("write_keystores 50", time.perf_counter() - start))
        start = time.perf_counter()
        _keystore.load_keystores(os.path.join(tmp, "vk"), workers=args.workers)
        print("%-44s %8.2f s" % ("load_keystores 50", time.perf_counter() - start))


if __name__ == "__main__":
    main()
