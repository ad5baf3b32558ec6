# -*- coding: utf-8 -*-
"""Tests that kill _exit's surviving mutants (issue 10): what combining partial exits refuses."""

from __future__ import annotations

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _exit
from ansible_collections.dvops.charon.tests.fixtures.dealer import deal

CAPELLA = bytes.fromhex("03000000")
GVR = b"\x4b" * 32
EPOCH, INDEX = 1000, 77


@pytest.fixture(scope="module")
def cluster():
    return deal(seed=b"exit-mutants", n=4, t=3, num_validators=2)


def _partials(v, xs, epoch=EPOCH, index=INDEX):
    return [{"pubkey": "0x" + v.pubkey.hex(), "share_index": x, "epoch": epoch, "validator_index": index,
             "signature": _exit.sign_partial(v.shares[x], epoch, index, CAPELLA, GVR)} for x in xs]


def _combine(pubkey, shares, partials, threshold=3):
    return _exit.combine("0x" + pubkey.hex(), shares, threshold, EPOCH, INDEX, CAPELLA, GVR, partials)


def test_combined_exit_is_checked_against_the_validator_key(cluster):
    """Partials that each verify against the lock's public shares, but shares that are not the
    validator's: only the final check of the combined signature can refuse it."""
    v0, v1 = cluster.validators
    with pytest.raises(_exit.ExitError, match="combined exit signature does not verify under the distributed"):
        _combine(v1.pubkey, v0.public_shares_list(), _partials(v0, [1, 2, 3]))
    sig, used, present = _combine(v0.pubkey, v0.public_shares_list(), _partials(v0, [4, 2, 3, 1]))
    assert used == [1, 2, 3] and present == [1, 2, 3, 4]
    assert _exit.verify_partial(v0.pubkey, EPOCH, INDEX, CAPELLA, GVR, sig)


def test_partials_below_threshold_and_bad_ones_are_refused(cluster):
    v = cluster.validators[0]
    shares = v.public_shares_list()
    with pytest.raises(_exit.ExitError, match=r"2 partial exits present, threshold is 3: 1 missing \(shares present: \[1, 2\]\)"):
        _combine(v.pubkey, shares, _partials(v, [1, 2]))
    with pytest.raises(_exit.ExitError, match="threshold is 3: 3 missing \\(shares present: none\\)"):
        _combine(v.pubkey, shares, [])
    dup = _partials(v, [1, 2]) + _partials(v, [2])
    with pytest.raises(_exit.ExitError, match="2 partial exits present"):
        _combine(v.pubkey, shares, dup)
    for x in (0, 5):
        bad = _partials(v, [1, 2, 3])
        bad[0]["share_index"] = x
        with pytest.raises(_exit.ExitError, match="share index out of range 1..4"):
            _combine(v.pubkey, shares, bad)
    bad = _partials(v, [1, 2, 3])
    bad[1]["share_index"] = 4       # share 2's signature claimed as share 4's
    with pytest.raises(_exit.ExitError, match="partial exit of share 4 .* does not verify against its public share"):
        _combine(v.pubkey, shares, bad)
    for epoch, index in ((EPOCH + 1, INDEX), (EPOCH, INDEX + 1)):
        with pytest.raises(_exit.ExitError, match="all operators must sign the same epoch"):
            _combine(v.pubkey, shares, _partials(v, [1, 2]) + _partials(v, [3], epoch, index))
    assert _combine(v.pubkey, shares, _partials(v, [2, 3, 4]), threshold=3)[1] == [2, 3, 4]


def test_share_index_of(cluster):
    shares = cluster.validators[0].public_shares_list()
    assert [_exit.share_index_of(shares, s) for s in shares] == [1, 2, 3, 4]
    assert _exit.share_index_of(shares, cluster.validators[1].public_shares_list()[0]) is None


def test_normalize_partial_shapes_and_refusals(cluster):
    v = cluster.validators[0]
    p = _partials(v, [2])[0]
    record = _exit.partial_record(p["pubkey"], 2, EPOCH, INDEX, p["signature"])
    assert _exit.normalize_partial(record) == p
    entry = {"pubkey": p["pubkey"], "share_index": 2, "epoch": EPOCH, "validator_index": INDEX,
             "partial_signature": "0x" + p["signature"].hex()}
    assert _exit.normalize_partial(entry) == p
    assert _exit.normalize_partial(dict(entry, partial_signature="")) is None
    with pytest.raises(_exit.ExitError, match="where: expected a mapping, got list"):
        _exit.normalize_partial([], "where")
    with pytest.raises(_exit.ExitError, match="missing field 'epoch'"):
        _exit.normalize_partial({k: val for k, val in entry.items() if k != "epoch"})
    with pytest.raises(_exit.ExitError, match="missing field 'public_key'"):
        _exit.normalize_partial({"signed_exit_message": record["signed_exit_message"], "share_idx": 2})


def _lookup(table):
    def lookup(ids):
        return [e for e in table if e["pubkey"] in ids or str(e["index"]) in ids]
    return lookup


def test_select_validators_refusals(cluster):
    pks = ["0x" + v.pubkey.hex() for v in cluster.validators]
    table = [{"pubkey": pks[0], "index": 10, "status": "active_ongoing"},
             {"pubkey": "0x" + "ab" * 48, "index": 11, "status": "active_ongoing"}]
    with pytest.raises(_exit.ExitError, match=r"unknown validator 0x(ab){48} \(validators\[0\]\)"):
        _exit.select_validators(pks, ["0x" + "ab" * 48], _lookup(table))
    with pytest.raises(_exit.ExitError, match="unknown validator index 12: the beacon node does not know it"):
        _exit.select_validators(pks, [12], _lookup(table))
    with pytest.raises(_exit.ExitError, match="unknown validator index 11 .*not one of this cluster"):
        _exit.select_validators(pks, [11], _lookup(table))
    with pytest.raises(_exit.ExitError, match="is not known to the beacon node"):
        _exit.select_validators(pks, [pks[1]], _lookup(table))
    assert _exit.select_validators(pks, [], _lookup(table)) == [
        {"pubkey": pks[0], "validator_index": 10, "status": "active_ongoing"},
        {"pubkey": pks[1], "validator_index": None, "status": "not_found"}]
    assert _exit.select_validators(pks, [10, pks[0]], _lookup(table)) == [
        {"pubkey": pks[0], "validator_index": 10, "status": "active_ongoing"}]
