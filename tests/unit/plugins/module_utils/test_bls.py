# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""_bls against independent references: py_ecc (pure-Python BLS), and the herumi-made
signatures in charon's cluster-lock-003.json."""

from __future__ import annotations

import json
import os
import random

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls
from ansible_collections.dvops.charon.tests.fixtures.dealer import deal

VECTORS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "shared", "vectors")
if not os.path.isdir(VECTORS):
    VECTORS = "/work/shared/vectors"

py_ecc_bls = pytest.importorskip("py_ecc.bls")
POP = py_ecc_bls.G2ProofOfPossession

# Compressed G1 generator, from the BLS12-381 / ZCash serialisation spec.
G1_GENERATOR = bytes.fromhex(
    "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb")
P = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB


def _lock():
    with open(os.path.join(VECTORS, "charon", "cluster-lock-003.json")) as f:
        return json.load(f)


def _hex(s):
    return bytes.fromhex(s[2:] if s.startswith("0x") else s)


def _non_subgroup_g1():
    """A point on y^2 = x^3 + 4 that is NOT in the r-order subgroup, compressed."""
    from py_ecc.optimized_bls12_381 import FQ, curve_order, is_inf, multiply  # pylint: disable=import-outside-toplevel
    x = 1
    while True:
        y2 = (x ** 3 + 4) % P
        y = pow(y2, (P + 1) // 4, P)
        if y * y % P == y2:
            pt = (FQ(x), FQ(y), FQ(1))
            if not is_inf(multiply(pt, curve_order)):
                flags = 0x80 | (0x20 if y > P - y else 0)
                b = bytearray(x.to_bytes(48, "big"))
                b[0] |= flags
                return bytes(b)
        x += 1


def test_constants_and_generator():
    assert _bls.CURVE_ORDER == int("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001", 16)
    assert _bls.g1_generator_mul(1) == G1_GENERATOR
    assert _bls.secret_to_public(1) == G1_GENERATOR


@pytest.mark.parametrize("sk,msg", [
    (1, b""),
    (12345, b"abc"),
    (_bls.CURVE_ORDER - 1, bytes(32)),
    (0x263dbd792f5b1be47ed85f8938c0f29586af0d3ac7b977f21c278fe1462040e3, b"\x56" * 32),
])
def test_keys_and_signatures_match_py_ecc(sk, msg):
    pk = _bls.secret_to_public(sk)
    sig = _bls.sign(sk, msg)
    assert pk == POP.SkToPk(sk)
    assert sig == POP.Sign(sk, msg)
    assert _bls.verify(pk, msg, sig)
    assert not _bls.verify(pk, msg + b"x", sig)


def test_verify_never_raises():
    sk = 42
    pk, sig = _bls.secret_to_public(sk), _bls.sign(sk, b"m")
    identity_g1 = b"\xc0" + bytes(47)
    identity_g2 = b"\xc0" + bytes(95)
    bad = [
        (pk[:-1], sig), (pk, sig[:-1]), (b"", b""), (None, sig), (pk, None), ("zz", sig), ([1], sig),
        (bytes(48), sig),                # no compression flag
        (identity_g1, identity_g2),       # the infinity key/signature pair must not verify
        (identity_g1, sig),
        (_non_subgroup_g1(), sig),
        (pk, b"\xff" * 96),
    ]
    for p, s in bad:
        assert _bls.verify(p, b"m", s) is False
    assert _bls.verify(bytearray(pk), b"m", bytearray(sig)) is True


def test_subgroup_checked_deserialisation():
    with pytest.raises(_bls.BLSError, match="subgroup"):
        _bls.g1_add([_non_subgroup_g1()])
    with pytest.raises(_bls.BLSError, match="48 bytes"):
        _bls.g1_mul(b"\x01" * 47, 2)
    assert not _bls.g1_is_valid(_non_subgroup_g1())
    assert _bls.g1_is_valid(G1_GENERATOR)


def test_secret_key_bytes():
    assert _bls.sk_from_bytes((7).to_bytes(32, "big")) == 7
    assert _bls.sk_to_bytes(7) == (7).to_bytes(32, "big")
    for bad in (bytes(32), _bls.CURVE_ORDER.to_bytes(32, "big"), b"\x01" * 31, b"\xff" * 32):
        with pytest.raises(_bls.BLSError):
            _bls.sk_from_bytes(bad)
    with pytest.raises(_bls.BLSError):
        _bls.sk_to_bytes(0)
    assert _bls.secret_to_public(_bls.sk_to_bytes(7)) == _bls.secret_to_public(7)
    assert _bls.sign(_bls.sk_to_bytes(7), b"m") == _bls.sign(7, b"m")
    with pytest.raises(_bls.BLSError):
        _bls.sign(bytes(32), b"m")
    k = _bls.random_scalar()
    assert 0 < k < _bls.CURVE_ORDER and _bls.sk_from_bytes(_bls.sk_to_bytes(k)) == k


def test_aggregate_matches_py_ecc():
    sks = [3, 5, 7]
    sigs = [_bls.sign(k, b"same") for k in sks]
    pks = [_bls.secret_to_public(k) for k in sks]
    agg = _bls.aggregate(sigs)
    assert agg == POP.Aggregate(sigs)
    assert _bls.fast_aggregate_verify(pks, b"same", agg)
    assert not _bls.fast_aggregate_verify(pks[:2], b"same", agg)
    assert not _bls.fast_aggregate_verify([], b"same", agg)
    msgs = [b"a", b"b", b"c"]
    agg2 = _bls.aggregate([_bls.sign(k, m) for k, m in zip(sks, msgs)])
    assert _bls.aggregate_verify(pks, msgs, agg2)
    assert not _bls.aggregate_verify(pks, [b"a", b"b", b"d"], agg2)
    with pytest.raises(_bls.BLSError):
        _bls.aggregate([])


def test_lagrange_known_values():
    r = _bls.CURVE_ORDER
    # l_i(0) for x = 1, 2, 3 are 3, -3, 1 (by hand).
    assert _bls.lagrange_coefficients([1, 2, 3]) == [3, r - 3, 1]
    assert sum(_bls.lagrange_coefficients([2, 5, 9, 11])) % r == 1
    with pytest.raises(_bls.BLSError, match="duplicate"):
        _bls.lagrange_coefficients([1, 1])


def test_eval_poly_and_commitments():
    coeffs = [11, 22, 33]
    assert _bls.eval_poly(coeffs, 2) == 11 + 44 + 132
    commitments = [_bls.g1_generator_mul(c) for c in coeffs]
    for x in (1, 2, 7):
        assert _bls.g1_eval_commitments(commitments, x) == _bls.g1_generator_mul(_bls.eval_poly(coeffs, x))
    assert _bls.g1_add(commitments) == _bls.g1_generator_mul(66)
    assert _bls.g1_mul(commitments[0], 3) == _bls.g1_generator_mul(33)


def test_threshold_split_and_combine():
    sk = 0x1234567890ABCDEF
    shares = _bls.split_secret(sk, 3, 5, rng=random.Random(1))
    assert sorted(shares) == [1, 2, 3, 4, 5]
    assert _bls.interpolate_scalars({x: shares[x] for x in (1, 4, 5)}) == sk
    assert _bls.interpolate_scalars({x: shares[x] for x in (1, 2)}) != sk
    pk = _bls.secret_to_public(sk)
    assert _bls.interpolate_g1({x: _bls.secret_to_public(shares[x]) for x in (2, 3, 5)}) == pk
    partials = {x: _bls.sign(shares[x], b"exit") for x in (1, 3, 4)}
    combined = _bls.interpolate_g2(partials)
    assert combined == _bls.sign(sk, b"exit")
    assert _bls.verify(pk, b"exit", combined)


def test_dealer_fixture_is_deterministic_and_consistent():
    a, b = deal(seed=b"x", n=4, t=3, num_validators=2), deal(seed=b"x", n=4, t=3, num_validators=2)
    assert [v.pubkey for v in a.validators] == [v.pubkey for v in b.validators]
    v = a.validators[0]
    assert _bls.interpolate_g1({x: v.public_shares[x] for x in (1, 2, 4)}) == v.pubkey
    for x in range(1, 5):
        assert _bls.g1_eval_commitments(v.commitments, x) == v.public_shares[x]


def test_lock_003_signature_aggregate_and_shares():
    """Signatures made by herumi in charon: §4.4 aggregate and §4.5 share consistency."""
    lock = _lock()
    t = lock["cluster_definition"]["threshold"]
    lock_hash = _hex(lock["lock_hash"])
    all_shares = []
    for dv in lock["distributed_validators"]:
        shares = [_hex(s) for s in dv["public_shares"]]
        all_shares.extend(shares)
        dv_pk = _hex(dv["distributed_public_key"])
        assert _bls.interpolate_g1({x: shares[x - 1] for x in range(1, t + 1)}) == dv_pk
        for k in range(t + 1, len(shares) + 1):
            assert _bls.interpolate_g1({x: shares[x - 1] for x in list(range(1, t)) + [k]}) == dv_pk
    assert len(all_shares) == 12
    agg = _hex(lock["signature_aggregate"])
    assert _bls.fast_aggregate_verify(all_shares, lock_hash, agg)
    assert not _bls.fast_aggregate_verify(all_shares[:-1], lock_hash, agg)
    assert not _bls.fast_aggregate_verify(all_shares, lock_hash[::-1], agg)


def test_batch_verify():
    v = deal(seed=b"batch", n=4, t=3).validators[0]
    items = [(v.public_shares[x], b"msg%d" % x, _bls.sign(v.shares[x], b"msg%d" % x)) for x in range(1, 5)]
    assert _bls.batch_verify(items) and _bls.batch_verify([]) and _bls.batch_verify(items[:1])
    assert _bls.batch_verify_failures(items) == []
    # Swapping two signatures keeps the sum of signatures but must still fail.
    swapped = list(items)
    swapped[1], swapped[2] = (items[1][0], items[1][1], items[2][2]), (items[2][0], items[2][1], items[1][2])
    assert not _bls.batch_verify(swapped)
    assert _bls.batch_verify_failures(swapped) == [1, 2]
    assert not _bls.batch_verify(items + [(b"\x00" * 48, b"m", items[0][2])])
