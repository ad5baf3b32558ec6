# -*- coding: utf-8 -*-
"""Every batch verification (_bls, _cluster's lock checks, the DKG rounds) draws its random weights
at the one size _bls.BATCH_WEIGHT_BITS, and a wrong item still fails the batch."""

from __future__ import annotations

import secrets

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _cluster, _dkg
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster


@pytest.fixture
def sizes(monkeypatch):
    """Bit sizes asked of secrets.randbits while the test runs (the weights stay random)."""
    seen = []
    real = secrets.randbits

    def record(k):
        seen.append(k)
        return real(k)
    monkeypatch.setattr(secrets, "randbits", record)
    return seen


def test_one_size_of_128_bits():
    assert _bls.BATCH_WEIGHT_BITS == 128


def test_bls_batch(sizes):
    keys = [3, 5]
    items = [(_bls.secret_to_public(k), b"m%d" % k, _bls.sign(k, b"m%d" % k)) for k in keys]
    assert _bls.batch_verify(items)
    assert sizes and set(sizes) == {_bls.BATCH_WEIGHT_BITS}
    bad = [items[0], (items[1][0], b"other", items[1][2])]
    assert _bls.batch_verify_failures(bad) == [1]


def test_cluster_lock_checks(sizes):
    c = build_cluster(seed=b"weights", n=3, num_validators=2)
    report = _cluster.verify_lock(c.lock)
    assert report.valid, report.as_dict()["errors"]
    # both batched checks draw weights: the signature multi-pairing and the public-share combination
    assert len(sizes) > 2 * len(c.lock.distributed_validators) and set(sizes) == {_bls.BATCH_WEIGHT_BITS}


def test_dkg_weights(sizes):
    values = [_dkg._rand128() for dummy in range(64)]
    assert set(sizes) == {_bls.BATCH_WEIGHT_BITS}
    assert all(v & 1 and 0 < v < 2 ** _bls.BATCH_WEIGHT_BITS for v in values)
    assert max(values) >= 2 ** 64  # not the old 64-bit size (probability of a false failure: 2^-4096)


def test_dkg_lagrange_is_bls_lagrange():
    for xs in ([1, 2], [1, 2, 3], [1, 3, 4, 7]):
        lam = _dkg._lagrange_at_zero(xs)
        assert lam == _bls.lagrange_coefficients(xs, at=0)
        # interpolating the constant polynomial 5 at zero gives 5
        assert sum(5 * v for v in lam) % _bls.CURVE_ORDER == 5
