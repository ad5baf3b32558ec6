# -*- coding: utf-8 -*-
"""Tests that kill _cluster's surviving verification mutants (issue 10, "Tests that could not fail").

The tampering tests in test_cluster_verify.py change a field without re-signing, so the signature
check hides a missing comparison.  Here every tampered field is re-signed with the (test) secret
that a malicious dealer would hold, and each test checks the one report entry that must fail.
"""

from __future__ import annotations

import copy

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _cluster as C, _eth2, _k1
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster

ETH = 10 ** 9


def _failed(report):
    return {k for k, v in report.checks.items() if not v}


@pytest.fixture(scope="module")
def one():
    """A one-validator v1.10 lock with two deposit amounts (registration + 2 deposits, one key)."""
    return build_cluster(seed=b"mutants-one", n=4, num_validators=1, deposit_amounts=[8 * ETH, 32 * ETH])


@pytest.fixture(scope="module")
def two():
    return build_cluster(seed=b"mutants-two", n=3, num_validators=2)


def _resign_deposit(c, lock, j, k):
    v = c.dealt.validators[j]
    dd = lock.distributed_validators[j].partial_deposit_data[k]
    root = _eth2.deposit_signing_root(bytes(dd.pubkey), bytes(dd.withdrawal_credentials), dd.amount,
                                      bytes(lock.definition.fork_version))
    dd.signature = _bls.sign(v.secret, root)


def _seal(c, lock):
    """Re-hash and re-sign the lock (aggregate and node signatures) as its operators would."""
    C.fill_lock_hash(lock)
    total = sum(s for v in c.dealt.validators for s in v.shares.values()) % _bls.CURVE_ORDER
    lock.signature_aggregate = _bls.sign(total, lock.lock_hash)
    lock.node_signatures = [_k1.sign(k, lock.lock_hash) for k in c.enr_keys]
    return lock


def test_sealed_lock_is_valid(one, two):
    for c in (one, two):
        rep = C.verify_lock(_seal(c, copy.deepcopy(c.lock)))
        assert rep.valid, rep.errors


# Deposits -----------------------------------------------------------------------------------------

def test_deposit_signed_for_other_withdrawal_credentials_is_refused(two):
    lock = copy.deepcopy(two.lock)
    dd = lock.distributed_validators[1].partial_deposit_data[0]
    dd.withdrawal_credentials = b"\x01" + bytes(11) + b"\x99" * 20
    _resign_deposit(two, lock, 1, 0)   # correctly signed by the validator key: only the comparison can tell
    rep = C.verify_lock(_seal(two, lock))
    assert _failed(rep) == {"deposit_data"}, rep.errors
    assert "distributed_validators[1].partial_deposit_data[0].withdrawal_credentials" in " ".join(rep.errors)


def test_deposit_for_another_pubkey_is_refused(two):
    lock = copy.deepcopy(two.lock)
    dd = lock.distributed_validators[0].partial_deposit_data[1]
    other = two.dealt.validators[1]
    dd.pubkey = other.pubkey
    root = _eth2.deposit_signing_root(other.pubkey, bytes(dd.withdrawal_credentials), dd.amount,
                                      bytes(lock.definition.fork_version))
    dd.signature = _bls.sign(other.secret, root)
    rep = C.verify_lock(_seal(two, lock))
    assert _failed(rep) == {"deposit_data"}, rep.errors
    assert "partial_deposit_data[1].pubkey: not the distributed_public_key" in " ".join(rep.errors)


@pytest.mark.parametrize("amount,ok", [(ETH - 1, False), (ETH, True), (32 * ETH, True), (32 * ETH + 1, False)])
def test_signed_deposit_amount_bounds(amount, ok):
    c = build_cluster(seed=b"mutants-amount", n=3, deposit_amounts=[amount, 32 * ETH] if amount != 32 * ETH
                      else [32 * ETH])
    lock = copy.deepcopy(c.lock)
    rep = C.verify_lock(lock, verify_signatures=False)
    assert rep.checks["deposit_data"] == ok, rep.errors
    if not ok:
        assert any(".amount: %d Gwei is outside [1, 32] ETH" % amount in e for e in rep.errors)


def test_compounding_deposit_cap_is_2048():
    c = build_cluster(seed=b"mutants-2048", n=3, compounding=True, deposit_amounts=[2048 * ETH])
    assert C.verify_lock(c.lock).valid
    d = copy.deepcopy(c.definition)
    d.compounding = False
    assert not C.verify_definition(d, verify_signatures=False).checks["deposit_amounts"]


def test_duplicate_and_missing_deposit_amounts_are_refused(two):
    lock = copy.deepcopy(two.lock)
    dds = lock.distributed_validators[0].partial_deposit_data
    dds.append(copy.deepcopy(dds[0]))
    rep = C.verify_lock(_seal(two, lock))
    assert _failed(rep) == {"deposit_data"}
    assert "distributed_validators[0].partial_deposit_data: duplicate amounts" in rep.errors[0]


def test_one_validator_batch_needs_random_weights(one):
    """Swapping the two deposit signatures of one DV keeps the plain sum of signatures and of message
    hashes: only a weighted batch (or per-signature checks) sees it.  Two-validator locks hide this,
    because an unweighted batch over two keys fails and falls back to the per-signature checks."""
    lock = copy.deepcopy(one.lock)
    dds = lock.distributed_validators[0].partial_deposit_data
    dds[0].signature, dds[1].signature = dds[1].signature, dds[0].signature
    rep = C.verify_lock(_seal(one, lock))
    assert _failed(rep) == {"deposit_data"}, rep.errors
    assert sum("the BLS signature does not verify" in e for e in rep.errors) == 2
    # A registration signed over another message (the first item of the batch) is named too.
    lock = copy.deepcopy(one.lock)
    reg = lock.distributed_validators[0].builder_registration
    reg.signature, dds = dds[0].signature, lock.distributed_validators[0].partial_deposit_data
    rep = C.verify_lock(_seal(one, lock))
    assert _failed(rep) == {"builder_registrations"}, rep.errors


def test_bls_batch_of_one_signature_is_checked():
    bls = C._Bls()  # pylint: disable=protected-access
    sk = 12345
    pk = _bls.secret_to_public(sk)
    assert bls.add(pk, b"m1", _bls.sign(sk, b"m2"), "x", "deposit_data") is None
    assert bls.run() == [("deposit_data", "x")]
    assert bls.add(pk, b"m1", _bls.sign(sk, b"m1"), "x", "deposit_data") is None
    assert bls.run() == []
    assert bls.run() == []
    assert "not a valid BLS12-381 G1 point" in bls.add(b"\x00" * 48, b"m", _bls.sign(sk, b"m"), "y", "c")
    assert "not a valid BLS12-381 G2 point (95 bytes)" in bls.add(pk, b"m", b"\x00" * 95, "y", "c")
    assert bls.items == []


# Signature aggregate --------------------------------------------------------------------------------

@pytest.mark.parametrize("version,network,ok", [("v1.1.0", "goerli", True), ("v1.2.0", "goerli", False),
                                                ("v1.10.0", "hoodi", False)])
def test_empty_signature_aggregate(version, network, ok):
    c = build_cluster(seed=b"mutants-agg" + version.encode(), n=3, version=version, network=network)
    lock = copy.deepcopy(c.lock)
    assert C.verify_lock(lock).valid
    lock.signature_aggregate = b""
    C.fill_lock_hash(lock)
    if C._minor(version) >= 7:  # pylint: disable=protected-access
        lock.node_signatures = [_k1.sign(k, lock.lock_hash) for k in c.enr_keys]
    rep = C.verify_lock(lock)
    assert rep.checks["signature_aggregate"] == ok, rep.errors
    if not ok:
        assert "signature_aggregate is empty (required from v1.2)" in " ".join(rep.errors)


def test_signature_aggregate_must_cover_every_share(two):
    lock = copy.deepcopy(two.lock)
    # Signed by all shares but one: a plausible G2 point that is not the aggregate.
    total = sum(s for v in two.dealt.validators for s in v.shares.values()) - two.dealt.validators[0].shares[1]
    lock.signature_aggregate = _bls.sign(total % _bls.CURVE_ORDER, lock.lock_hash)
    rep = C.verify_lock(lock)
    assert _failed(rep) == {"signature_aggregate"}
    assert "FastAggregateVerify over all 6 public shares" in " ".join(rep.errors)
    lock.signature_aggregate = b"\x00" * 96
    assert "not a valid BLS12-381 G2 point (96 bytes)" in " ".join(C.verify_lock(lock).errors)


# Definition rules -------------------------------------------------------------------------------------

@pytest.mark.parametrize("delta,ok", [(-10, False), (0, True), (1, False)])
def test_threshold_bounds(two, delta, ok):
    d = copy.deepcopy(two.definition)
    n = len(d.operators)
    d.threshold = n + delta if delta >= 0 else 0
    C.fill_definition_hashes(d)
    rep = C.verify_definition(d, verify_signatures=False)
    assert rep.checks["threshold"] == ok, rep.errors
    if not ok:
        assert "threshold %d must be between 1 and the number of operators (%d)" % (d.threshold, n) in rep.errors[0]
    d.threshold = 1
    C.fill_definition_hashes(d)
    assert C.verify_definition(d, verify_signatures=False).checks["threshold"]


def test_threshold_out_of_range_in_a_lock_is_refused(two):
    lock = copy.deepcopy(two.lock)
    lock.definition.threshold = len(lock.definition.operators) + 1
    rep = C.verify_lock(lock)
    assert not rep.checks["threshold"] and not rep.checks["public_shares"]
    assert "threshold 4 is not between 1 and 3 operators" in " ".join(rep.errors)


def test_num_validators_must_match_the_validators(two):
    d = copy.deepcopy(two.definition)
    d.num_validators = 3
    rep = C.verify_definition(d, verify_signatures=False)
    assert not rep.checks["threshold"] and "num_validators 3 but 2 validators" in " ".join(rep.errors)


@pytest.mark.parametrize("amounts,compounding,problem", [
    ([ETH - 1, 32 * ETH], False, "below the 1 ETH minimum"),
    ([32 * ETH + 1], False, "exceeds the 32 ETH maximum"),
    ([2048 * ETH + 1], True, "exceeds the 2048 ETH maximum"),
    ([16 * ETH, 16 * ETH - 1], False, "below 32 ETH"),
])
def test_deposit_amount_problems(amounts, compounding, problem):
    problems = C.deposit_amount_problems(amounts, compounding)
    assert len(problems) == 1 and problem in problems[0], problems


def test_deposit_amount_edges_pass():
    assert C.deposit_amount_problems([ETH, 31 * ETH]) == []
    assert C.deposit_amount_problems([32 * ETH]) == []
    assert C.deposit_amount_problems([2048 * ETH], True) == []
    assert C.deposit_amount_problems([]) == [] and C.deposit_amount_problems(None) == []


# Node signatures, registrations, shares ------------------------------------------------------------------

def test_node_signature_by_another_operator_is_refused(two):
    lock = copy.deepcopy(two.lock)
    lock.node_signatures[1] = _k1.sign(two.enr_keys[2], lock.lock_hash)
    rep = C.verify_lock(lock)
    assert _failed(rep) == {"node_signatures"}
    assert "node_signatures[1]: does not recover to operator 1's ENR key" in " ".join(rep.errors)
    lock.node_signatures[1] = lock.node_signatures[1][:64]
    assert "node_signatures[1]: a signature is 65 bytes, got 64" in " ".join(C.verify_lock(lock).errors)
    lock.node_signatures = lock.node_signatures + [lock.node_signatures[0]]
    assert "4 node_signatures for 3 operators" in " ".join(C.verify_lock(lock).errors)


def test_registration_for_another_fee_recipient_or_key_is_refused(two):
    lock = copy.deepcopy(two.lock)
    reg = lock.distributed_validators[1].builder_registration
    reg.fee_recipient = b"\x55" * 20
    root = _eth2.registration_signing_root(reg.fee_recipient, reg.gas_limit, reg.timestamp,
                                           bytes(lock.distributed_validators[1].distributed_public_key),
                                           bytes(lock.definition.fork_version))
    reg.signature = _bls.sign(two.dealt.validators[1].secret, root)
    rep = C.verify_lock(_seal(two, lock))
    assert _failed(rep) == {"builder_registrations"}, rep.errors
    assert "is not the definition's fee recipient" in " ".join(rep.errors)
    lock = copy.deepcopy(two.lock)
    lock.distributed_validators[0].builder_registration.pubkey = bytes(lock.distributed_validators[1].distributed_public_key)
    rep = C.verify_lock(_seal(two, lock))
    assert _failed(rep) == {"builder_registrations"}, rep.errors
    assert "message.pubkey: not the distributed_public_key" in " ".join(rep.errors)


def test_lock_with_more_validators_than_the_definition(two):
    lock = copy.deepcopy(two.lock)
    lock.distributed_validators.append(copy.deepcopy(lock.distributed_validators[0]))
    rep = C.verify_lock(_seal(two, lock))
    assert not rep.checks["num_validators"] and not rep.checks["builder_registrations"]
    assert "no validators[2] entry in the definition" in " ".join(rep.errors)


def test_share_checks_name_each_problem(two):
    lock = copy.deepcopy(two.lock)
    lock.distributed_validators[0].distributed_public_key = b"\x01" * 48
    rep = C.verify_lock(lock)
    assert "distributed_validators[0].distributed_public_key: not a valid BLS12-381 G1 point" in " ".join(rep.errors)
    # A share that does not interpolate (t = 2 of 3: sets {1,2} and {1,3}).
    lock = copy.deepcopy(two.lock)
    shares = lock.distributed_validators[0].public_shares
    shares[2] = _bls.secret_to_public(777)
    rep = C.verify_lock(lock)
    assert not rep.checks["public_shares"]
    assert "distributed_validators[0]: shares at x=1,3 do not interpolate" in " ".join(rep.errors)


def test_operator_enrs_duplicate_and_invalid(two):
    d = copy.deepcopy(two.definition)
    d.operators[2].enr = d.operators[0].enr
    rep = C.Report()
    C.verify_operator_enrs(d, rep)
    assert not rep.checks["operator_enrs"] and "operators[2].enr: the same peer as operators[0]" in rep.errors[0]
    d.operators[2].enr = "enr:-garbage"
    rep = C.Report()
    C.verify_operator_enrs(d, rep)
    assert not rep.checks["operator_enrs"] and rep.errors[0].startswith("operator_enrs: operators[2].enr:")


def test_report_records_and_keeps_failures():
    rep = C.Report()
    assert rep.record("a", True) is True
    assert rep.record("a", False, ["x"]) is False
    assert rep.record("a", True) is True
    assert rep.checks["a"] is False and not rep.valid
    assert rep.record("b", True, ["problem"]) is False
    assert rep.errors == ["a: x", "b: problem"]
    assert rep.as_dict() == {"checks": {"a": False, "b": False}, "errors": ["a: x", "b: problem"], "valid": False}
