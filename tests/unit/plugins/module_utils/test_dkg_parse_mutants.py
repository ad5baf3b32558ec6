# -*- coding: utf-8 -*-
"""More of _dkg's surviving mutants (issue 10), from the full mutation run over main after the
hardening merge: round-1 messages of the wrong shape are a named refusal (never a traceback, never
silently truncated), the batched proof-of-knowledge check needs its random weights, and a share
must be a canonical scalar (0 included, R and above refused); round 3 weights each sender (two
colluding operators cannot cancel their errors), a round-2 state that does not fit the definition is
named as such, and a definition with an invalid ENR is refused, not run with fewer operators."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _dkg, _enr, _k1
from ansible_collections.dvops.charon.plugins.module_utils import _dkg_crypto as tc
# Module-scoped fixtures of the main DKG mutant tests (a 3-operator, 2-validator ceremony).
from ansible_collections.dvops.charon.tests.unit.plugins.module_utils.test_dkg_mutants import (  # noqa: F401  # pylint: disable=unused-import
    _resigned, cluster, round1, round2)


@pytest.mark.parametrize("field", ["commitments", "pok"])
@pytest.mark.parametrize("shape", ["object", "one more", "one less"])
def test_round1_lists_of_the_wrong_shape_are_refused(cluster, round1, field, shape):
    keys, d, params = cluster
    st, msgs = round1

    def change(body):
        items = body[field]
        # an object with as many keys as validators; a list with an extra entry; a short list
        body[field] = {"object": lambda: dict((str(k), x) for k, x in enumerate(items)),
                       "one more": lambda: items + [items[0]],
                       "one less": lambda: items[:-1]}[shape]()
    with pytest.raises(_dkg.DKGError, match="operator 2 sent commitments/proofs for the wrong number") as exc:
        _dkg.round2(params, st[0], _resigned(keys, msgs, 2, change), keys[0])
    assert exc.value.culprit == 2


def test_proofs_whose_errors_cancel_out_are_refused(cluster, round1):
    """Operator 3 moves part of one proof's response into the other's: each proof is now invalid, but
    the plain sum of the two equations is unchanged, so only the random batch weights notice."""
    keys, d, params = cluster
    st, msgs = round1
    delta = 123456789

    def shift(body):
        out = []
        for v, sign in ((0, 1), (1, -1)):
            pok = bytes.fromhex(body["pok"][v][2:])
            mu = (int.from_bytes(pok[48:], "big") + sign * delta) % _dkg.R
            out.append("0x" + (pok[:48] + mu.to_bytes(32, "big")).hex())
        body["pok"] = out
    bad = _resigned(keys, msgs, 3, shift)
    with pytest.raises(_dkg.DKGError, match="operator 3 sent an invalid proof of knowledge") as exc:
        _dkg.round2(params, st[0], bad, keys[0])
    assert exc.value.culprit == 3


def _dealer_with_zero_share_for_operator_1(cluster, monkeypatch):
    """Operator 2's round-1 message from the real round1, with its polynomials chosen so that
    f(1) = 0 for every validator: a legitimate (if astronomically unlikely) share of 0 for operator 1."""
    keys, d, params = cluster
    t, v_count = params["threshold"], params["num_validators"]
    wanted = []
    for v in range(v_count):
        coeffs = [1000 + 17 * v + j for j in range(1, t)]
        wanted += [(-sum(coeffs)) % _dkg.R] + coeffs + [424242 + v]   # a0, a1..a_{t-1}, the PoK nonce k
    real = _dkg.secrets.randbelow

    def chosen(bound):
        # round1 draws randbelow(R - 1) + 1 for each coefficient, then for the nonce
        return wanted.pop(0) - 1 if wanted and bound == _dkg.R - 1 else real(bound)
    monkeypatch.setattr(_dkg.secrets, "randbelow", chosen)
    try:
        dummy, msg = _dkg.round1(params, 2, keys[1])
    finally:
        monkeypatch.undo()
    assert not wanted
    return msg


def _reencrypted(cluster, msg, recipient, shares):
    keys, d, params = cluster
    body = msg["body"]
    eph = tc.new_ephemeral_key()

    def change(b):
        b["ephemeral_pubkey"] = "0x" + _k1.public_key(eph).hex()
        for m in (1, 3):
            plain = tc.decrypt_shares(keys[m - 1], tc.unhex(body["ephemeral_pubkey"]), params["definition_hash"], 2, m,
                                      tc.unhex(body["shares"][str(m)]), params["num_validators"])
            if m == recipient:
                plain = shares(plain)
            b["shares"][str(m)] = "0x" + tc.encrypt_shares(eph, params["operators"][m - 1], params["definition_hash"],
                                                           2, m, plain).hex()
    return change


def test_a_share_of_zero_that_matches_the_commitments_is_accepted(cluster, round1, monkeypatch):
    keys, d, params = cluster
    st, msgs = round1
    msg = _dealer_with_zero_share_for_operator_1(cluster, monkeypatch)
    plain = tc.decrypt_shares(keys[0], tc.unhex(msg["body"]["ephemeral_pubkey"]), params["definition_hash"], 2, 1,
                              tc.unhex(msg["body"]["shares"]["1"]), params["num_validators"])
    assert plain == [bytes(32)] * params["num_validators"]
    # 0 is a scalar like any other: operator 1 completes round 2 with it
    state, dummy = _dkg.round2(params, st[0], [msgs[0], msg, msgs[2]], keys[0])
    assert state["round"] == 2


def test_a_share_outside_the_scalar_field_is_refused(cluster, round1, monkeypatch):
    """s + R (and R for a share of 0) is the same scalar mod R, so the Feldman check alone passes it;
    a share must be canonical, below R."""
    keys, d, params = cluster
    st, msgs = round1
    bumped = _resigned(keys, msgs, 2, _reencrypted(cluster, msgs[1], 1, lambda plain: [
        (int.from_bytes(plain[0], "big") + _dkg.R).to_bytes(32, "big")] + plain[1:]))
    with pytest.raises(_dkg.DKGError, match="operator 2 sent a share outside the scalar field") as exc:
        _dkg.round2(params, st[0], bumped, keys[0])
    assert exc.value.culprit == 2
    zero = _dealer_with_zero_share_for_operator_1(cluster, monkeypatch)
    as_r = [msgs[0], zero, msgs[2]]
    as_r = _resigned(keys, as_r, 2, _reencrypted(cluster, zero, 1, lambda plain: [_dkg.R.to_bytes(32, "big")] * len(plain)))
    with pytest.raises(_dkg.DKGError, match="operator 2 sent a share outside the scalar field"):
        _dkg.round2(params, st[0], as_r, keys[0])


def test_colluding_senders_cannot_cancel_their_partial_signature_errors(cluster, round2):
    """Operators 2 and 3 shift one partial signature by +P and -P: the plain sum over senders is
    unchanged, so only the per-sender random weights notice; the first wrong sender is named."""
    keys, d, params = cluster
    st, msgs = round2
    lib = _dkg._lib()  # pylint: disable=protected-access
    shift = lib.G2Point() * _dkg._sc(987654321)  # pylint: disable=protected-access

    def moved(sign):
        def change(body):
            raw = bytes.fromhex(body["partial_signatures"][2:])
            first = _dkg._g2(raw[:96], "test")  # pylint: disable=protected-access
            first = first + shift if sign > 0 else first - shift
            body["partial_signatures"] = "0x" + (first.to_compressed_bytes() + raw[96:]).hex()
        return change
    bad = _resigned(keys, _resigned(keys, msgs, 2, moved(1)), 3, moved(-1))
    with pytest.raises(_dkg.DKGError, match="operator 2 sent an invalid partial signature") as exc:
        _dkg.round3(params, st[0], bad, keys[0], _dkg.lock_builder(d))
    assert exc.value.culprit == 2


def test_round2_state_that_does_not_fit_the_definition_is_named(cluster, round2):
    keys, d, params = cluster
    st, msgs = round2
    state = copy.deepcopy(st[0])
    state["message_hashes"] = state["message_hashes"][:-1]   # a state file cut short
    with pytest.raises(_dkg.DKGError, match="the round-2 state does not match the definition: restart the ceremony"):
        _dkg.round3(params, state, msgs, keys[0], _dkg.lock_builder(d))


def test_definition_with_an_invalid_enr_is_refused():
    keys = [_k1.generate_private_key() for dummy in range(3)]
    d = _cluster.new_definition("bad-enr", [_enr.node_record(k) for k in keys], 1, "0x" + "11" * 20, "0x" + "22" * 20,
                                network="hoodi", dkg_algorithm=_dkg.ALGORITHM)
    d.operators[1].enr = "enr:-not-a-record"
    # never a ceremony of the two valid operators only
    with pytest.raises(_dkg.DKGError, match="operators\\[1\\].enr is not a valid ENR"):
        _dkg.params_from_definition(d)
