# -*- coding: utf-8 -*-
"""More of _dkg's surviving mutants (issue 10), found by ``make mutation``: invalid G2 points, the
transcript's exact domain separation, the smallest (2-operator) ceremony."""

from __future__ import annotations

import copy
import hashlib

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _dkg, _enr, _k1
from ansible_collections.dvops.charon.plugins.module_utils import _dkg_crypto as tc

NOT_G2 = bytes(96)   # no compression flag: not a valid encoding


def _resigned(key, msg, change):
    body = copy.deepcopy(msg["body"])
    change(body)
    return tc.sign_message(key, body)


@pytest.fixture(scope="module")
def pair():
    """A 2-of-2 ceremony (the smallest allowed), run up to round 3."""
    keys = [_k1.generate_private_key() for dummy in range(2)]
    d = _cluster.new_definition("pair", [_enr.node_record(k) for k in keys], 1, "0x" + "11" * 20, "0x" + "22" * 20,
                                threshold=2, network="hoodi", dkg_algorithm=_dkg.ALGORITHM)
    params = _dkg.params_from_definition(d)
    r1 = [_dkg.round1(params, i + 1, keys[i]) for i in range(2)]
    m1 = [m for dummy, m in r1]
    r2 = [_dkg.round2(params, r1[i][0], m1, keys[i]) for i in range(2)]
    m2 = [m for dummy, m in r2]
    r3 = [_dkg.round3(params, r2[i][0], m2, keys[i], _dkg.lock_builder(d)) for i in range(2)]
    return keys, d, params, r2, m2, r3


def test_two_operators_is_the_smallest_ceremony(pair):
    keys, d, params, r2, m2, r3 = pair
    assert _dkg.check_params(params)[:2] == (2, 2)
    lock, shares = _dkg.finish(params, r3[0][0], [m for dummy, m in r3])
    assert _cluster.verify_lock(_dkg.assemble_lock(d, lock)).valid
    with pytest.raises(_dkg.DKGError, match="at least 2 operators, the definition has 1"):
        _dkg.check_params(dict(params, operators=params["operators"][:1], threshold=1))


def test_partial_signature_that_is_not_a_g2_point_is_refused(pair):
    keys, d, params, r2, m2, r3 = pair

    def bad(body):
        raw = bytes.fromhex(body["partial_signatures"][2:])
        body["partial_signatures"] = "0x" + (raw[:96] + NOT_G2 + raw[192:]).hex()
    msgs = [m2[0], _resigned(keys[1], m2[1], bad)]
    with pytest.raises(_dkg.DKGError, match="operator 2 partial signature 1 is not a valid G2 point") as exc:
        _dkg.round3(params, r2[0][0], msgs, keys[0], _dkg.lock_builder(d))
    assert exc.value.culprit == 2


def test_lock_signature_that_is_not_a_g2_point_is_refused(pair):
    keys, d, params, r2, m2, r3 = pair
    msgs = [m for dummy, m in r3]
    msgs[1] = _resigned(keys[1], msgs[1], lambda b: b.update(lock_signature="0x" + NOT_G2.hex()))
    with pytest.raises(_dkg.DKGError, match="operator 2 lock signature is not a valid G2 point") as exc:
        _dkg.finish(params, r3[0][0], msgs)
    assert exc.value.culprit == 2


def test_transcript_is_domain_separated_and_bound():
    dh, msgs = hashlib.sha256(b"d").digest(), [{"body": {"a": 1}, "signature": "0x01"}]
    digest = tc.message_digest(msgs[0])
    assert _dkg._transcript(dh, 1, msgs) == hashlib.sha256(  # pylint: disable=protected-access
        b"dvops-dkg-transcript-v1" + dh + b"\x01" + digest).digest()
    assert _dkg._transcript(dh, 1, msgs) != _dkg._transcript(dh, 2, msgs)  # pylint: disable=protected-access
    assert _dkg._transcript(dh, 1, msgs) != _dkg._transcript(b"\x00" * 32, 1, msgs)  # pylint: disable=protected-access
