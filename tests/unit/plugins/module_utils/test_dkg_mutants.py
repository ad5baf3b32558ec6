# -*- coding: utf-8 -*-
"""Tests that kill the native DKG's surviving mutants (issue 10, "Tests that could not fail").

Each test reproduces one attack or relay fault that the rounds must refuse, and checks the
refusal names the right check (a different later error would hide a missing check):
proofs of knowledge bound to sender, validator and definition; the message's definition
hash; the round-2 transcript; node and BLS lock signatures in ``finish`` and their random batch
weights.  The share encryption is in test_dkg_crypto_mutants.py.
"""

from __future__ import annotations

import copy
import hashlib

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _cluster, _dkg, _enr, _k1
from ansible_collections.dvops.charon.plugins.module_utils import _dkg_crypto as tc

N, V = 3, 2


@pytest.fixture(scope="module")
def cluster():
    keys = [_k1.generate_private_key() for dummy in range(N)]
    enrs = [_enr.node_record(k) for k in keys]
    d = _cluster.new_definition("dkg-mutants", enrs, V, "0x" + "11" * 20, "0x" + "22" * 20, network="hoodi",
                                dkg_algorithm=_dkg.ALGORITHM, deposit_amounts=[32 * 10**9])
    return keys, d, _dkg.params_from_definition(d)


@pytest.fixture(scope="module")
def round1(cluster):
    keys, d, params = cluster
    out = [_dkg.round1(params, i + 1, keys[i]) for i in range(N)]
    return [s for s, dummy in out], [m for dummy, m in out]


@pytest.fixture(scope="module")
def round2(cluster, round1):
    keys, d, params = cluster
    st, msgs = round1
    out = [_dkg.round2(params, st[i], msgs, keys[i]) for i in range(N)]
    return [s for s, dummy in out], [m for dummy, m in out]


@pytest.fixture(scope="module")
def round3(cluster, round2):
    keys, d, params = cluster
    st, msgs = round2
    out = [_dkg.round3(params, st[i], msgs, keys[i], _dkg.lock_builder(d)) for i in range(N)]
    return [s for s, dummy in out], [m for dummy, m in out]


def _resigned(keys, msgs, sender, change):
    """Copy of ``msgs`` where operator ``sender``'s body is changed by ``change(body)`` and re-signed
    with its own key: the operator itself is the attacker, so the message signature is valid."""
    out = list(msgs)
    body = copy.deepcopy(msgs[sender - 1]["body"])
    change(body)
    out[sender - 1] = tc.sign_message(keys[sender - 1], body)
    return out


def _forged_pok(dh, sender, validator):
    """(commitment bytes of t points, pok bytes) that prove knowledge of a fresh a0, with the
    challenge computed for (dh, sender, validator): valid only where exactly those are bound."""
    lib = _dkg._lib()  # pylint: disable=protected-access
    g = lib.G1Point()
    a0, k = 1234567 + sender, 7654321 + validator
    c0 = (g * _dkg._sc(a0)).to_compressed_bytes()  # pylint: disable=protected-access
    r_point = (g * _dkg._sc(k)).to_compressed_bytes()  # pylint: disable=protected-access
    c = _dkg._pok_challenge(dh, sender, validator, c0, r_point)  # pylint: disable=protected-access
    mu = (k + a0 * c) % _dkg.R
    return c0, r_point + mu.to_bytes(32, "big")


def _with_pok(c0, pok, validator):
    def change(body):
        comm = bytes.fromhex(body["commitments"][validator][2:])
        body["commitments"][validator] = "0x" + (c0 + comm[48:]).hex()
        body["pok"][validator] = "0x" + pok.hex()
    return change


# Proofs of knowledge ------------------------------------------------------------------------------

@pytest.mark.parametrize("what", ["sender", "validator", "definition_hash"])
def test_proof_of_knowledge_made_for_other_inputs_is_refused(cluster, round1, what):
    """A PoK valid for another sender / validator slot / definition must not pass for this one
    (a rogue dealer copying someone's commitment and proof, or replaying one from another cluster)."""
    keys, d, params = cluster
    st, msgs = round1
    dh = params["definition_hash"]
    sender, validator = 2, 1
    forged = {"sender": (dh, 3, validator), "validator": (dh, sender, 0),
              "definition_hash": (hashlib.sha256(b"another definition").digest(), sender, validator)}[what]
    c0, pok = _forged_pok(*forged)
    bad = _resigned(keys, msgs, sender, _with_pok(c0, pok, validator))
    with pytest.raises(_dkg.DKGError, match="operator 2 sent an invalid proof of knowledge") as exc:
        _dkg.round2(params, st[0], bad, keys[0])
    assert exc.value.culprit == 2
    # The same forgery made for the right inputs passes the proof check (it then fails on the shares,
    # which the forger cannot make match): the refusal above is the binding, not the forgery's shape.
    c0, pok = _forged_pok(dh, sender, validator)
    good = _resigned(keys, msgs, sender, _with_pok(c0, pok, validator))
    with pytest.raises(_dkg.DKGError, match="operator 2 sent this operator a share"):
        _dkg.round2(params, st[0], good, keys[0])


def test_pok_challenge_binds_every_input():
    base = (b"\x01" * 32, 1, 0, b"\x02" * 48, b"\x03" * 48)
    c = _dkg._pok_challenge(*base)  # pylint: disable=protected-access
    for k, other in enumerate((b"\x09" * 32, 2, 1, b"\x04" * 48, b"\x05" * 48)):
        args = list(base)
        args[k] = other
        assert _dkg._pok_challenge(*args) != c, k  # pylint: disable=protected-access
    # Domain-separated: not the plain hash of the concatenation.
    plain = hashlib.sha256(b"\x01" * 32 + (1).to_bytes(2, "big") + (0).to_bytes(4, "big") + b"\x02" * 48
                           + b"\x03" * 48).digest()
    assert c != int.from_bytes(plain, "big") % _dkg.R


def test_swapped_proofs_of_two_validators_are_refused(cluster, round1):
    """Batched PoK check: swapping two validators' (valid) proofs keeps the unweighted sum intact."""
    keys, d, params = cluster
    st, msgs = round1

    def swap(body):
        for key in ("commitments", "pok"):
            body[key][0], body[key][1] = body[key][1], body[key][0]
    bad = _resigned(keys, msgs, 3, swap)
    with pytest.raises(_dkg.DKGError, match="operator 3 sent an invalid proof of knowledge"):
        _dkg.round2(params, st[0], bad, keys[0])


# Message fields ------------------------------------------------------------------------------------

def _set(key, value):
    def change(body):
        body[key] = value
    return change


def _drop_share_for_operator_1(body):
    del body["shares"]["1"]


def _share_meant_for_operator_3(body):
    body["shares"]["1"] = body["shares"]["3"]


def _one_commitment_list(body):
    body["commitments"] = body["commitments"][:1]


def _commitment_not_on_g1(body):
    comm = bytes.fromhex(body["commitments"][0][2:])
    body["commitments"][0] = "0x" + (b"\x01" * 48 + comm[48:]).hex()


# A round-1 message changed by its own sender and re-signed with its key (so the message signature is
# valid): round 2 refuses it, naming the operator (and, where asserted, blaming it as the culprit).
TAMPERED_ROUND1 = [
    pytest.param(2, _set("definition_hash", "0x" + "ab" * 32), "operator 2 runs the ceremony for a different definition",
                 True, id="another-definition"),
    pytest.param(3, _set("round", 2), "operator 3 sent a round-2 message where round 1", False, id="another-round"),
] + [
    pytest.param(2, _set("sender", sender), "no valid sender index", False, id="sender-%r" % (sender,))
    for sender in (0, N + 1, True, "1", None)
] + [
    pytest.param(2, _drop_share_for_operator_1, r"operator 2 sent no shares for this operator \(1\)", False,
                 id="share-missing"),
    pytest.param(2, _share_meant_for_operator_3, "operator 2: the encrypted share for validator 0 does not decrypt", False,
                 id="share-for-another-operator"),
    pytest.param(2, _one_commitment_list, "operator 2 sent commitments/proofs for the wrong number", False,
                 id="commitments-count"),
    pytest.param(2, _commitment_not_on_g1, "operator 2 commitment 0 of validator 0 is not a valid G1", False,
                 id="commitment-not-g1"),
]


@pytest.mark.parametrize("sender,change,pattern,blamed", TAMPERED_ROUND1)
def test_tampered_round1_message_is_refused(cluster, round1, sender, change, pattern, blamed):
    keys, d, params = cluster
    st, msgs = round1
    with pytest.raises(_dkg.DKGError, match=pattern) as exc:
        _dkg.round2(params, st[0], _resigned(keys, msgs, sender, change), keys[0])
    if blamed:
        assert exc.value.culprit == sender


def test_message_signed_by_another_operator_is_refused(cluster, round1):
    keys, d, params = cluster
    st, msgs = round1
    forged = list(msgs)
    forged[1] = tc.sign_message(keys[2], msgs[1]["body"])   # operator 3 speaking for operator 2
    with pytest.raises(_dkg.DKGError, match="round-1 message from operator 2: the message signature") as exc:
        _dkg.round2(params, st[0], forged, keys[0])
    assert exc.value.culprit == 2


def test_swapped_shares_of_two_validators_are_refused(cluster, round1):
    """Batched Feldman check: a dealer sending validator 1's share as validator 0's and vice versa."""
    keys, d, params = cluster
    st, msgs = round1
    # Operator 2 re-encrypts to operator 1 its own two shares in swapped order; the test reads them
    # with operator 1's key (the test holds every key), as the attacker knows its own polynomial.
    body = msgs[1]["body"]
    plain = tc.decrypt_shares(keys[0], tc.unhex(body["ephemeral_pubkey"]), params["definition_hash"], 2, 1,
                              tc.unhex(body["shares"]["1"]), V)
    eph = tc.new_ephemeral_key()

    def swap(b):
        b["ephemeral_pubkey"] = "0x" + _k1.public_key(eph).hex()
        for m in (1, 3):
            shares = plain[::-1] if m == 1 else tc.decrypt_shares(
                keys[2], tc.unhex(body["ephemeral_pubkey"]), params["definition_hash"], 2, 3,
                tc.unhex(body["shares"]["3"]), V)
            sealed = tc.encrypt_shares(eph, params["operators"][m - 1], params["definition_hash"], 2, m, shares)
            b["shares"][str(m)] = "0x" + sealed.hex()
    bad = _resigned(keys, msgs, 2, swap)
    with pytest.raises(_dkg.DKGError, match="operator 2 sent this operator a share that does not match"):
        _dkg.round2(params, st[0], bad, keys[0])
    # Operator 3 received its shares unchanged: for it the same broadcast is fine.
    _dkg.round2(params, st[2], bad, keys[2])


# Round 3 -------------------------------------------------------------------------------------------

def test_swapped_partial_signatures_are_refused(cluster, round2):
    """Batched partial-signature check: operator 2 swaps its deposit and registration partials."""
    keys, d, params = cluster
    st, msgs = round2

    def swap(body):
        raw = bytes.fromhex(body["partial_signatures"][2:])
        parts = [raw[k:k + 96] for k in range(0, len(raw), 96)]
        parts[0], parts[1] = parts[1], parts[0]
        body["partial_signatures"] = "0x" + b"".join(parts).hex()
    with pytest.raises(_dkg.DKGError, match="operator 2 sent an invalid partial signature"):
        _dkg.round3(params, st[0], _resigned(keys, msgs, 2, swap), keys[0], _dkg.lock_builder(d))


def test_round3_refuses_a_round1_transcript_mismatch(cluster, round2):
    keys, d, params = cluster
    st, msgs = round2

    def other(body):
        body["transcript"] = "0x" + "00" * 32
    with pytest.raises(_dkg.DKGError, match="operator 3 saw a different round-1 transcript"):
        _dkg.round3(params, st[0], _resigned(keys, msgs, 3, other), keys[0], _dkg.lock_builder(d))


# Finish --------------------------------------------------------------------------------------------

def test_finish_detects_an_equivocated_round2_broadcast(cluster, round2):
    """The relay shows operator 1 another (validly signed, same content) round-2 message of operator 2:
    only the round-2 transcript comparison in finish can see it."""
    keys, d, params = cluster
    st, msgs = round2

    def note(body):
        body["note"] = "same partials, another message"
    seen_by_1 = _resigned(keys, msgs, 2, note)
    out = [_dkg.round3(params, st[i], seen_by_1 if i == 0 else msgs, keys[i], _dkg.lock_builder(d))
           for i in range(N)]
    msgs3 = [m for dummy, m in out]
    assert len({m["body"]["lock_hash"] for m in msgs3}) == 1      # nothing else differs
    with pytest.raises(_dkg.DKGError, match="saw a different round-2 transcript"):
        _dkg.finish(params, out[1][0], msgs3)
    with pytest.raises(_dkg.DKGError, match="saw a different round-2 transcript"):
        _dkg.finish(params, out[0][0], msgs3)


def test_finish_refuses_a_bad_node_signature(cluster, round3):
    keys, d, params = cluster
    st, msgs = round3

    def bad(body):
        body["node_signature"] = "0x" + _k1.sign(keys[1], b"\x07" * 32).hex()
    with pytest.raises(_dkg.DKGError, match="operator 2's node signature over the lock hash does not verify") as exc:
        _dkg.finish(params, st[0], _resigned(keys, msgs, 2, bad))
    assert exc.value.culprit == 2


def test_finish_refuses_a_bad_lock_signature(cluster, round3):
    keys, d, params = cluster
    st, msgs = round3

    def bad(body):
        body["lock_signature"] = "0x" + _bls.sign(424242, bytes.fromhex(body["lock_hash"][2:])).hex()
    with pytest.raises(_dkg.DKGError, match="operator 3's BLS signature over the lock hash does not verify") as exc:
        _dkg.finish(params, st[0], _resigned(keys, msgs, 3, bad))
    assert exc.value.culprit == 3


def test_finish_refuses_swapped_lock_signatures(cluster, round3):
    """Swapping two operators' lock signatures keeps their sum, so only random weights catch it."""
    keys, d, params = cluster
    st, msgs = round3
    sig2, sig3 = msgs[1]["body"]["lock_signature"], msgs[2]["body"]["lock_signature"]
    bad = _resigned(keys, msgs, 2, lambda b: b.update(lock_signature=sig3))
    bad = _resigned(keys, bad, 3, lambda b: b.update(lock_signature=sig2))
    with pytest.raises(_dkg.DKGError, match="operator 2's BLS signature"):
        _dkg.finish(params, st[0], bad)


def test_finish_refuses_another_lock_hash(cluster, round3):
    keys, d, params = cluster
    st, msgs = round3
    with pytest.raises(_dkg.DKGError, match="operator 2 computed a different lock hash"):
        _dkg.finish(params, st[0], _resigned(keys, msgs, 2, lambda b: b.update(lock_hash="0x" + "01" * 32)))


def test_finish_result_matches_the_lock(cluster, round3):
    keys, d, params = cluster
    st, msgs = round3
    lock, shares = _dkg.finish(params, st[0], msgs)
    full = _dkg.assemble_lock(d, lock)
    assert _cluster.verify_lock(full).valid
    assert [bytes(s) for s in full.node_signatures] == [tc.unhex(m["body"]["node_signature"]) for m in msgs]
    for v, dv in enumerate(full.distributed_validators):
        assert _bls.secret_to_public(shares[v]) == bytes(dv.public_shares[0])


# Parameters ----------------------------------------------------------------------------------------

def test_check_params_bounds(cluster):
    params = cluster[2]
    assert _dkg.check_params(params) == (N, params["threshold"], V)
    for change, match in (({"threshold": N + 1}, "threshold"), ({"threshold": 1}, "threshold"),
                          ({"operators": params["operators"][:1], "threshold": 1}, "at least 2 operators"),
                          ({"num_validators": 0, "withdrawal_credentials": [], "fee_recipients": []},
                           "at least 1"),
                          ({"fee_recipients": params["fee_recipients"][:1]}, "addresses"),
                          ({"withdrawal_credentials": params["withdrawal_credentials"][:1]}, "addresses"),
                          ({"amounts": []}, "no deposit amounts"),
                          ({"definition_hash": b"\x01" * 31}, "32 bytes")):
        with pytest.raises(_dkg.DKGError, match=match):
            _dkg.check_params(dict(params, **change))
    assert _dkg.check_params(dict(params, threshold=N))[1] == N
    assert _dkg.check_params(dict(params, threshold=2))[1] == 2


def test_round1_refuses_an_index_out_of_range(cluster):
    keys, d, params = cluster
    for index in (0, N + 1):
        with pytest.raises(_dkg.DKGError, match="out of range"):
            _dkg.round1(params, index, keys[0])
