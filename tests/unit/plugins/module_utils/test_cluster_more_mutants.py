# -*- coding: utf-8 -*-
"""More of _cluster's surviving mutants (issue 10), found by ``make mutation``: an invalid fee
recipient or ENR in the definition of a lock, a registration signature that is not a G2 point, and
the deposit check of v1.6 locks."""

from __future__ import annotations

import copy

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _cluster as C, _eth2
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster


def test_invalid_fee_recipient_in_the_definition_is_named():
    c = build_cluster(seed=b"more-fee", n=3, signed=False)
    lock = copy.deepcopy(c.lock)
    lock.definition.validators[0].fee_recipient_address = "0x1234"
    # verify_lock stops earlier (the lock hash needs the address); the check itself must still name it.
    problems = C._verify_registrations(lock, C._Bls())  # pylint: disable=protected-access
    assert problems == ["validators[0].fee_recipient_address: an address is 20 bytes (0x + 40 hex characters), "
                        "got '0x1234'"], problems


def test_registration_signature_that_is_not_a_g2_point_is_named():
    c = build_cluster(seed=b"more-reg", n=3)
    lock = copy.deepcopy(c.lock)
    lock.distributed_validators[0].builder_registration.signature = b"\x00" * 95
    rep = C.verify_lock(lock)
    assert not rep.checks["builder_registrations"]
    assert "builder_registrations: distributed_validators[0].builder_registration.signature: the signature is not a " \
           "valid BLS12-381 G2 point (95 bytes)" in rep.errors


def test_invalid_operator_enr_is_named_by_the_node_signature_check():
    c = build_cluster(seed=b"more-enr", n=3, signed=False)
    lock = copy.deepcopy(c.lock)
    lock.definition.operators[1].enr = "enr:-not-a-record"
    rep = C.verify_lock(lock)
    assert not rep.checks["node_signatures"]
    assert any(e.startswith("node_signatures: node_signatures[1]: operator 1's ENR is invalid") for e in rep.errors)


def test_v1_6_deposit_data_is_verified():
    c = build_cluster(seed=b"more-v16", n=3, version="v1.6.0", network="goerli")
    assert C.verify_lock(c.lock).valid
    lock = copy.deepcopy(c.lock)
    dd = lock.distributed_validators[0].deposit_data
    other_wc = b"\x01" + bytes(11) + b"\x77" * 20
    dd.withdrawal_credentials = other_wc
    dd.signature = _bls.sign(c.dealt.validators[0].secret, _eth2.deposit_signing_root(
        bytes(dd.pubkey), other_wc, dd.amount, bytes(lock.definition.fork_version)))
    C.fill_lock_hash(lock)
    rep = C.verify_lock(lock, verify_signatures=False)
    assert rep.checks == dict(rep.checks, deposit_data=False) and not rep.checks["deposit_data"]
    assert "distributed_validators[0].deposit_data.withdrawal_credentials" in " ".join(rep.errors)
