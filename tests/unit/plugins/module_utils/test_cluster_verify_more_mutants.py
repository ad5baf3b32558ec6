# -*- coding: utf-8 -*-
"""_cluster's lock verification, mutation run 4 (issue 10): the share-consistency batch, the
aggregate's share checks, and the registration/deposit edge cases.

Each test builds a real lock with the cluster factory (trusted dealer, real BLS12-381 and
secp256k1 signatures), makes it wrong in exactly one way, re-signs what the tamper would
otherwise break (so the check under test is the one that fires), and asserts what verify_lock
reports.  Nothing here is a FAKE except the counting wrapper around the real BLS library, which
only counts multi-scalar multiplications and passes every call through.
"""

from __future__ import annotations

import copy

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _cluster as C, _eth2, _k1
from ansible_collections.dvops.charon.tests.fixtures import cluster_factory
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster

ETH = 10 ** 9


def _failed(report):
    return {k for k, v in report.checks.items() if not v}


def _seal(c, lock):
    """Re-hash and re-sign the lock (aggregate by the sum of all secret shares, node signatures)."""
    C.fill_lock_hash(lock)
    total = sum(s for v in c.dealt.validators for s in v.shares.values()) % _bls.CURVE_ORDER
    lock.signature_aggregate = _bls.sign(total, lock.lock_hash)
    if C._minor(lock.version) >= 7:  # pylint: disable=protected-access
        lock.node_signatures = [_k1.sign(k, lock.lock_hash) for k in c.enr_keys]
    return lock


def _resign_definition(c, lock, seed):
    """The definition's operators/creator sign the changed definition again (EIP-712)."""
    cluster_factory._sign_definition(c, lock.definition, seed)  # pylint: disable=protected-access
    C.fill_definition_hashes(lock.definition)


@pytest.fixture(scope="module")
def two():
    """3 operators, threshold 2 (share sets {1,2} and {1,3}), two validators, v1.10."""
    return build_cluster(seed=b"more-mutants-two", n=3, num_validators=2)


# Threshold bounds in the share check ---------------------------------------------------------------

def test_threshold_equal_to_the_operator_count_verifies():
    c = build_cluster(seed=b"more-mutants-t=n", n=3, threshold=3, num_validators=1)
    rep = C.verify_lock(c.lock)
    assert rep.valid and rep.checks["public_shares"], rep.errors


def test_threshold_one_of_one_verifies():
    # One operator holding the whole key: its single share is the distributed key, threshold 1.
    c = build_cluster(seed=b"more-mutants-1of1", n=1, threshold=1, num_validators=1)
    rep = C.verify_lock(c.lock)
    assert rep.valid and rep.checks["public_shares"], rep.errors


def test_threshold_one_of_three_is_checked_not_refused_as_out_of_range():
    # t=1 is in range: the shares are checked, and a degree-0 polynomial gives every operator the
    # same share, which is what the share check names (not the threshold range).
    c = build_cluster(seed=b"more-mutants-1of3", n=3, threshold=1, num_validators=1)
    rep = C.verify_lock(c.lock)
    assert rep.checks["threshold"], rep.errors
    assert _failed(rep) == {"public_shares"}, rep.errors
    assert rep.errors == ["public_shares: distributed_validators[0]: duplicate public shares"]


# The random-weighted share batch ---------------------------------------------------------------------

def _cancelling_lock(c):
    """Share x=2 of validator 0 moved by +d*G and of validator 1 by -d*G (secret shares too).

    Each validator's shares at x=1,2 no longer interpolate to its key, but the two errors are
    equal and opposite: an unweighted sum of all the share equations is still the identity, and
    the sum of all shares (the aggregate signature's key) is unchanged.  Only random weights
    (or the per-validator checks) see it."""
    lock = copy.deepcopy(c.lock)
    d = 424242
    for j, sign in ((0, 1), (1, -1)):
        shares = lock.distributed_validators[j].public_shares
        shares[1] = _bls.secret_to_public((c.dealt.validators[j].shares[2] + sign * d) % _bls.CURVE_ORDER)
    return _seal(c, lock)


def test_errors_that_cancel_in_an_unweighted_sum_are_found(two):
    rep = C.verify_lock(_cancelling_lock(two))
    assert _failed(rep) == {"public_shares"}, rep.errors
    assert rep.errors == [
        "public_shares: distributed_validators[0]: shares at x=1,2 do not interpolate to the distributed_public_key",
        "public_shares: distributed_validators[1]: shares at x=1,2 do not interpolate to the distributed_public_key",
    ]


class _G1Counter(object):
    """The real G1Point class with multiexp_unchecked counted."""

    def __init__(self, cls):
        self._cls = cls
        self.calls = []

    def multiexp_unchecked(self, points, scalars):
        self.calls.append(len(points))
        return self._cls.multiexp_unchecked(points, scalars)

    def __call__(self, *args):
        return self._cls(*args)

    def __getattr__(self, name):
        return getattr(self._cls, name)


class _Lib(object):
    def __init__(self, lib):
        self._lib = lib
        self.G1Point = _G1Counter(lib.G1Point)

    def __getattr__(self, name):
        return getattr(self._lib, name)


def _share_check(lock):
    bls = C._Bls()  # pylint: disable=protected-access
    bls.lib = _Lib(bls.lib)
    rep = C.Report()
    C._verify_shares(lock, bls, rep)  # pylint: disable=protected-access
    return rep, bls.lib.G1Point.calls


@pytest.mark.parametrize("n,t,dvs", [(3, 2, 2), (4, 3, 3), (5, 3, 1)])
def test_correct_shares_cost_one_multiexp_over_every_share_and_key(n, t, dvs):
    # The promise of _verify_shares: every DV's share equations in ONE multi-scalar multiplication
    # over all n shares and the key of each DV; the per-equation checks only run to name a failure.
    c = build_cluster(seed=b"more-mutants-msm%d%d%d" % (n, t, dvs), n=n, threshold=t, num_validators=dvs)
    rep, calls = _share_check(c.lock)
    assert rep.checks == {"public_shares": True} and rep.errors == []
    assert calls == [dvs * (n + 1)]


def test_a_wrong_share_is_found_after_the_batch(two):
    lock = copy.deepcopy(two.lock)
    lock.distributed_validators[1].public_shares[2] = _bls.secret_to_public(777)
    rep, calls = _share_check(lock)
    assert rep.errors == ["public_shares: distributed_validators[1]: shares at x=1,3 do not interpolate to the "
                          "distributed_public_key"]
    # the batch, then validator 0's two equations (fine) and validator 1's two (the second fails)
    assert calls == [2 * 4, 2, 2, 2, 2]


# signature_aggregate needs valid public shares ---------------------------------------------------------

def test_aggregate_without_any_public_share_is_refused(two):
    lock = copy.deepcopy(two.lock)
    for dv in lock.distributed_validators:
        dv.public_shares = []
    rep = C.verify_lock(_seal(two, lock))
    assert not rep.checks["signature_aggregate"]
    assert "signature_aggregate: no public shares to verify the aggregate against" in rep.errors


def test_aggregate_over_an_invalid_public_share_is_refused(two):
    lock = copy.deepcopy(two.lock)
    lock.distributed_validators[0].public_shares[1] = b"\x01" * 48
    rep = C.verify_lock(_seal(two, lock))
    assert not rep.checks["signature_aggregate"] and not rep.checks["public_shares"]
    assert "signature_aggregate: a public share is not a valid BLS12-381 G1 point" in rep.errors


# Builder registrations ---------------------------------------------------------------------------------

def test_missing_builder_registration_is_reported_not_a_crash(two):
    lock = copy.deepcopy(two.lock)
    lock.distributed_validators[1].builder_registration = None   # read as the zero registration
    rep = C.verify_lock(_seal(two, lock))
    assert _failed(rep) == {"builder_registrations"}, rep.errors
    fee = lock.definition.validators[1].fee_recipient_address
    assert ("builder_registrations: distributed_validators[1].builder_registration.message.fee_recipient: 0x is not "
            "the definition's fee recipient %s" % fee) in rep.errors
    assert ("builder_registrations: distributed_validators[1].builder_registration.message.pubkey: not the "
            "distributed_public_key") in rep.errors


def test_empty_fee_recipient_registration_is_signed_over_the_zero_address():
    seed = b"more-mutants-nofee"
    c = build_cluster(seed=seed, n=3, num_validators=1)
    lock = copy.deepcopy(c.lock)
    lock.definition.validators[0].fee_recipient_address = ""
    _resign_definition(c, lock, seed)
    reg = lock.distributed_validators[0].builder_registration
    reg.fee_recipient = b""
    root = _eth2.registration_signing_root(bytes(20), reg.gas_limit, reg.timestamp, bytes(reg.pubkey),
                                           bytes(lock.definition.fork_version))
    reg.signature = _bls.sign(c.dealt.validators[0].secret, root)
    rep = C.verify_lock(_seal(c, lock))
    assert rep.valid, rep.errors
    # signed over the empty fee recipient's 20 zero bytes, not over anything else
    reg.signature = _bls.sign(c.dealt.validators[0].secret, b"\x00" * 32)
    rep = C.verify_lock(_seal(c, lock))
    assert _failed(rep) == {"builder_registrations"}, rep.errors


def test_registration_that_cannot_be_hashed_is_reported(two):
    # A 47-byte distributed key (the registration carries the same bytes, so they "match"): the
    # lock still hashes, but the registration's SSZ root cannot be built, and that is named.
    lock = copy.deepcopy(two.lock)
    dv = lock.distributed_validators[0]
    dv.distributed_public_key = bytes(dv.distributed_public_key)[:47]
    dv.builder_registration.pubkey = dv.distributed_public_key
    rep = C.verify_lock(_seal(two, lock))
    assert not rep.checks["builder_registrations"]
    regs = [e for e in rep.errors if e.startswith("builder_registrations:")]
    assert regs == ["builder_registrations: distributed_validators[0].builder_registration: pubkey must be 48 bytes, "
                    "got 47"]


# Deposits ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["v1.6.0", "v1.7.0"])
def test_missing_v1_6_deposit_data_is_the_unverified_placeholder(version):
    c = build_cluster(seed=b"more-mutants-dd" + version.encode(), n=3, num_validators=2, version=version,
                      network="holesky")
    lock = copy.deepcopy(c.lock)
    lock.distributed_validators[0].deposit_data = None
    rep = C.verify_lock(_seal(c, lock))
    assert rep.valid and rep.checks["deposit_data"], rep.errors


def test_validator_without_partial_deposits_is_not_an_amount_mismatch():
    # deposit_amounts is set, so each DV's partial deposits must cover exactly those amounts; a
    # DV that carries no partial deposit at all has nothing to compare and is not refused
    # (charon v1.10.3 itself never compares lock deposits with deposit_amounts on load).
    c = build_cluster(seed=b"more-mutants-nodeposit", n=3, num_validators=2, deposit_amounts=[8 * ETH, 24 * ETH])
    lock = copy.deepcopy(c.lock)
    lock.distributed_validators[1].partial_deposit_data = []
    rep = C.verify_lock(_seal(c, lock))
    assert rep.valid and rep.checks["deposit_data"], rep.errors
    lock.distributed_validators[0].partial_deposit_data.pop()
    rep = C.verify_lock(_seal(c, lock))
    assert rep.errors == ["deposit_data: distributed_validators[0].partial_deposit_data: amounts [%d] differ from "
                          "the definition's deposit_amounts [%d, %d]" % (8 * ETH, 8 * ETH, 24 * ETH)]


def test_empty_withdrawal_address_is_reported_for_the_deposits():
    seed = b"more-mutants-nowd"
    c = build_cluster(seed=seed, n=3, num_validators=2)
    lock = copy.deepcopy(c.lock)
    lock.definition.validators[1].withdrawal_address = ""
    _resign_definition(c, lock, seed)
    rep = C.verify_lock(_seal(c, lock))
    assert _failed(rep) == {"deposit_data"}, rep.errors
    assert rep.errors == ["deposit_data: validators[1].withdrawal_address: withdrawal_address must be 20 bytes, "
                          "got 0"]


def test_malformed_deposit_signature_is_named(two):
    lock = copy.deepcopy(two.lock)
    lock.distributed_validators[1].partial_deposit_data[0].signature = b"\x00" * 95
    rep = C.verify_lock(_seal(two, lock))
    assert _failed(rep) == {"deposit_data"}, rep.errors
    assert rep.errors == ["deposit_data: distributed_validators[1].partial_deposit_data[0].signature: the signature "
                          "is not a valid BLS12-381 G2 point (95 bytes)"]
