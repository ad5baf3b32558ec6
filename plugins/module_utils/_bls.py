# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Eth2 BLS12-381 signatures and the threshold arithmetic charon uses (charon-formats.md §4.4-4.6, §10.2).

Ciphersuite ``BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`` (herumi ``EthModeLatest``): public
keys are compressed G1 points (48 bytes), signatures compressed G2 points (96 bytes), secret
keys Python ints in ``1..r-1``.  The curve arithmetic is ``py_arkworks_bls12381``, imported
lazily through ``_deps.require`` so that importing this module never fails.

Shares follow charon/herumi: share ``i`` (1-based, operator position + 1) is ``f(i)`` of a
polynomial with ``f(0)`` the DV secret; combining uses Lagrange coefficients at 0.
"""

from __future__ import annotations

import functools
import secrets

from ansible_collections.dvops.charon.plugins.module_utils import _deps

CURVE_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
DST = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
# Size of the random weights of every batch verification (here, _cluster and _dkg): a wrong item
# passes a weighted batch with probability about 2^-BATCH_WEIGHT_BITS.
BATCH_WEIGHT_BITS = 128
PUBKEY_LEN = 48
SIGNATURE_LEN = 96


class BLSError(ValueError):
    """A malformed key, point or scalar."""


def _lib():
    return _deps.require("py_arkworks_bls12381")


@functools.lru_cache(maxsize=1)
def _generators():
    lib = _lib()
    return lib.G1Point(), lib.G2Point()


def _scalar(k):
    # arkworks silently truncates out-of-range ints, so always reduce here.
    return _lib().Scalar(int(k) % CURVE_ORDER)


# Deserialisation is subgroup-checked and costs ~0.05-0.1 ms; the DKG and lock checks see the
# same public shares and commitments many times, hence the caches (keyed by immutable bytes).
def _g1(data):
    return _g1_cached(_as_bytes(data, PUBKEY_LEN, "a G1 point (public key)"))


def _g2(data):
    return _g2_cached(_as_bytes(data, SIGNATURE_LEN, "a G2 point (signature)"))


def _as_bytes(data, size, what):
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) != size:
        raise BLSError("%s is %d bytes, got %s" % (what, size, _describe_len(data)))
    return bytes(data)


def _parse(cls, data, what):
    try:
        return cls.from_compressed_bytes(data)
    except Exception as exc:  # the binding raises ValueError with a Rust message
        # Tell a well-formed curve point outside the r-order subgroup apart from garbage.
        try:
            point = cls.from_compressed_bytes_unchecked(data)
        except Exception:  # pylint: disable=broad-except
            raise BLSError("invalid compressed %s: %s" % (what, exc))
        if not point.is_in_subgroup():
            raise BLSError("%s is not in the prime-order subgroup" % what)
        raise BLSError("invalid compressed %s: %s" % (what, exc))


@functools.lru_cache(maxsize=8192)
def _g1_cached(data):
    return _parse(_lib().G1Point, data, "G1 point")


@functools.lru_cache(maxsize=1024)
def _g2_cached(data):
    return _parse(_lib().G2Point, data, "G2 point")


def _describe_len(data):
    try:
        return "%d" % len(data)
    except TypeError:
        return type(data).__name__


def _pubkey(data):
    """G1 point that is a valid public key (KeyValidate: not the identity)."""
    point = _g1(data)
    if point == _lib().G1Point.identity():
        raise BLSError("public key is the point at infinity")
    return point


def _hash(msg):
    return _hash_cached(bytes(msg))


# Lock checks and exits verify many signatures over the same root (~0.45 ms per hash).
@functools.lru_cache(maxsize=256)
def _hash_cached(msg):
    return _lib().G2Point.hash_to_curve(msg, DST)


# Scalars ---------------------------------------------------------------------------------------

def random_scalar():
    """A uniformly random secret key in 1..r-1 (from ``secrets``)."""
    while True:
        k = secrets.randbelow(CURVE_ORDER)
        if k:
            return k


def sk_from_bytes(b32):
    """Secret key from 32 big-endian bytes; must be 0 < sk < r."""
    if not isinstance(b32, (bytes, bytearray)) or len(b32) != 32:
        raise BLSError("a secret key is 32 bytes, got %s" % _describe_len(b32))
    k = int.from_bytes(bytes(b32), "big")
    if not 0 < k < CURVE_ORDER:
        raise BLSError("secret key is out of range (must be 0 < sk < r)")
    return k


def sk_to_bytes(sk):
    """32 big-endian bytes of a secret key."""
    k = int(sk)
    if not 0 < k < CURVE_ORDER:
        raise BLSError("secret key is out of range (must be 0 < sk < r)")
    return k.to_bytes(32, "big")


# Keys and signatures ---------------------------------------------------------------------------

def _sk(sk):
    """Validated secret key int from an int or 32 big-endian bytes."""
    if isinstance(sk, (bytes, bytearray)):
        return sk_from_bytes(sk)
    return sk_from_bytes(sk_to_bytes(sk))


def secret_to_public(sk):
    """Compressed G1 public key (48 bytes) of a secret key (int, or 32 big-endian bytes)."""
    return g1_generator_mul(_sk(sk))


def sign(sk, msg):
    """Eth2 POP-ciphersuite signature (96 bytes) of ``msg`` (bytes) with a secret key (int or 32 bytes)."""
    return (_hash(msg) * _scalar(_sk(sk))).to_compressed_bytes()


def _pairs(pk_point, msg, signature):
    """e(pk, H(m)) == e(g1, sig) for a decoded public key point (raises on a malformed signature)."""
    sig = _g2(signature)
    g1 = _generators()[0]
    # e(pk, H(m)) == e(g1, sig)  <=>  e(pk, H(m)) * e(-g1, sig) == 1: one multi-pairing.
    return bool(_lib().GT.pairing_check([pk_point, -g1], [_hash(msg), sig]))


def verify(pubkey, msg, signature):
    """True when ``signature`` is valid for ``msg`` under ``pubkey``; False for any malformed input."""
    try:
        return _pairs(_pubkey(pubkey), msg, signature)
    except Exception:  # pylint: disable=broad-except
        return False


def _sum(items, decode, group, what):
    """Sum in ``group`` ("G1Point"/"G2Point") of the points ``decode`` makes of ``items``
    (raises BLSError on malformed or empty input)."""
    items = list(items)
    if not items:
        raise BLSError("cannot aggregate zero %s" % what)
    total = getattr(_lib(), group).identity()
    for item in items:
        total = total + decode(item)
    return total


def aggregate(signatures):
    """Plain BLS Aggregate of compressed signatures (raises BLSError on malformed or empty input)."""
    return _sum(signatures, _g2, "G2Point", "signatures").to_compressed_bytes()


def aggregate_pubkeys(pubkeys):
    """Sum of public keys (raises BLSError on malformed or empty input)."""
    return _sum(pubkeys, _pubkey, "G1Point", "public keys")


def fast_aggregate_verify(pubkeys, msg, signature):
    """FastAggregateVerify: all ``pubkeys`` signed the same ``msg``; False on malformed input."""
    try:
        return _pairs(aggregate_pubkeys(pubkeys), msg, signature)
    except Exception:  # pylint: disable=broad-except
        return False


def aggregate_verify(pubkeys, msgs, signature):
    """AggregateVerify over distinct messages (POP scheme allows repeats too); False on malformed input."""
    try:
        pubkeys, msgs = list(pubkeys), list(msgs)
        if not pubkeys or len(pubkeys) != len(msgs):
            return False
        g1s = [_pubkey(p) for p in pubkeys]
        g2s = [_hash(m) for m in msgs]
        g1 = _generators()[0]
        g1s.append(-g1)
        g2s.append(_g2(signature))
        return bool(_lib().GT.pairing_check(g1s, g2s))
    except Exception:  # pylint: disable=broad-except
        return False


def _batch_pairing_ok(items, weighted):
    lib = _lib()
    g1s, g2s, sigs, weights = [], [], [], []
    for pk, msg, sig in items:
        # Random weights stop crafted signatures from cancelling out across items.
        w = _scalar(secrets.randbits(BATCH_WEIGHT_BITS) | 1) if weighted else _scalar(1)
        g1s.append(pk * w if weighted else pk)
        g2s.append(_hash(msg))
        sigs.append(sig)
        weights.append(w)
    g1s.append(-_generators()[0])
    g2s.append(lib.G2Point.multiexp_unchecked(sigs, weights))
    return bool(lib.GT.pairing_check(g1s, g2s))


def batch_verify(items):
    """True when every ``(pubkey48, msg, sig96)`` in ``items`` verifies; False on any bad or malformed one.

    One multi-pairing with random weights (a bad signature slips through with probability
    2^-BATCH_WEIGHT_BITS): about half the cost of separate ``verify`` calls for large batches.
    """
    try:
        parsed = [(_pubkey(pk), bytes(msg), _g2(sig)) for pk, msg, sig in items]
        if not parsed:
            return True
        return _batch_pairing_ok(parsed, len(parsed) > 1)
    except Exception:  # pylint: disable=broad-except
        return False


def batch_verify_failures(items):
    """Indices of the ``(pubkey48, msg, sig96)`` items that do not verify (empty when all do).

    Tries one weighted batch first and only checks items one by one when it fails.
    """
    items = list(items)
    if batch_verify(items):
        return []
    return [i for i, (pk, msg, sig) in enumerate(items) if not verify(pk, msg, sig)]


# Group helpers ----------------------------------------------------------------------------------

def g1_generator_mul(k):
    """Compressed ``k * G1``."""
    g1 = _generators()[0]
    return (g1 * _scalar(k)).to_compressed_bytes()


def g1_mul(point, k):
    """Compressed ``k * point`` (point: compressed G1, may be the identity)."""
    return (_g1(point) * _scalar(k)).to_compressed_bytes()


def g1_add(points):
    """Compressed sum of compressed G1 points (the empty sum is the identity)."""
    total = _lib().G1Point.identity()
    for p in points:
        total = total + _g1(p)
    return total.to_compressed_bytes()


def g1_is_valid(point):
    """True for a well-formed, subgroup-checked compressed G1 point (identity allowed)."""
    try:
        _g1(point)
        return True
    except Exception:  # pylint: disable=broad-except
        return False


def g1_eval_commitments(commitments, x):
    """``sum_j C_j * x^j`` over compressed G1 commitments: the Feldman VSS check value at ``x``.

    A share ``s`` of that polynomial is valid when ``g1_generator_mul(s) == g1_eval_commitments(C, x)``.
    """
    commitments = list(commitments)
    if not commitments:
        raise BLSError("no commitments to evaluate")
    points = [_g1(c) for c in commitments]
    scalars, power = [], 1
    for dummy in points:
        scalars.append(_scalar(power))
        power = power * int(x) % CURVE_ORDER
    # Points are subgroup-checked above, so the unchecked multiexp is safe.
    return _lib().G1Point.multiexp_unchecked(points, scalars).to_compressed_bytes()


# Polynomials and interpolation ------------------------------------------------------------------

def eval_poly(coeffs, x):
    """``sum_j coeffs[j] * x^j mod r`` (Horner)."""
    acc = 0
    for c in reversed(list(coeffs)):
        acc = (acc * int(x) + int(c)) % CURVE_ORDER
    return acc


def lagrange_coefficients(xs, at=0):
    """Lagrange basis values ``l_i(at)`` for the distinct nonzero indices ``xs`` (mod r)."""
    xs = [int(x) % CURVE_ORDER for x in xs]
    if not xs:
        raise BLSError("no indices to interpolate")
    if len(set(xs)) != len(xs):
        raise BLSError("duplicate share indices: %s" % sorted(xs))
    at = int(at) % CURVE_ORDER
    out = []
    for i, xi in enumerate(xs):
        num, den = 1, 1
        for j, xj in enumerate(xs):
            if i != j:
                num = num * (at - xj) % CURVE_ORDER
                den = den * (xi - xj) % CURVE_ORDER
        out.append(num * pow(den, CURVE_ORDER - 2, CURVE_ORDER) % CURVE_ORDER)
    return out


def _check_indices(shares):
    if not shares:
        raise BLSError("no shares to interpolate")
    for x in shares:
        if int(x) <= 0:
            raise BLSError("share index %r is not a positive integer" % (x,))
    return sorted(shares, key=int)


def interpolate_scalars(shares):
    """Secret at 0 from ``{x: y}`` scalar shares (needs threshold many)."""
    xs = _check_indices(shares)
    lam = lagrange_coefficients(xs)
    return sum(l * int(shares[x]) for l, x in zip(lam, xs)) % CURVE_ORDER


def interpolate_g1(shares):
    """Public key at 0 from ``{x: pubkey48}`` public shares (§4.5)."""
    xs = _check_indices(shares)
    lam = lagrange_coefficients(xs)
    points = [_g1(shares[x]) for x in xs]
    return _lib().G1Point.multiexp_unchecked(points, [_scalar(l) for l in lam]).to_compressed_bytes()


def interpolate_g2(shares):
    """Threshold-combined signature from ``{x: sig96}`` partial signatures (charon ThresholdAggregate, §10.2)."""
    xs = _check_indices(shares)
    lam = lagrange_coefficients(xs)
    points = [_g2(shares[x]) for x in xs]
    return _lib().G2Point.multiexp_unchecked(points, [_scalar(l) for l in lam]).to_compressed_bytes()


threshold_aggregate = interpolate_g2


def split_secret(sk, threshold, n, rng=None):
    """Trusted-dealer Shamir split: ``{1..n: share}`` of a random degree ``threshold-1`` polynomial.

    For tests and fixtures; the DKG never uses a dealer.  ``rng`` is a ``random.Random``-like
    object (``randrange``) for deterministic fixtures; default ``secrets``.
    """
    threshold, n = int(threshold), int(n)
    if not 1 <= threshold <= n:
        raise BLSError("threshold %d must be between 1 and n=%d" % (threshold, n))
    coeffs = [int(sk) % CURVE_ORDER]
    for dummy in range(threshold - 1):
        coeffs.append(rng.randrange(1, CURVE_ORDER) if rng is not None else random_scalar())
    return {i: eval_poly(coeffs, i) for i in range(1, n + 1)}
