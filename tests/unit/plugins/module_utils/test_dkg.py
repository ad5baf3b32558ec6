# -*- coding: utf-8 -*-
"""The native DKG rounds (_dkg) end to end and under attack; transport crypto (_dkg_crypto)."""

from __future__ import annotations

import copy
import itertools

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _cluster, _dkg, _enr, _k1
from ansible_collections.dvops.charon.plugins.module_utils import _dkg_crypto as tc

N, T, V = 4, 3, 3


@pytest.fixture(scope="module")
def cluster():
    keys = [_k1.generate_private_key() for dummy in range(N)]
    enrs = [_enr.node_record(k) for k in keys]
    d = _cluster.new_definition("dkg-test", enrs, V, "0x" + "11" * 20, ["0x" + "%02x" % i * 20 for i in range(1, V + 1)],
                                network="hoodi", dkg_algorithm=_dkg.ALGORITHM, deposit_amounts=[8 * 10**9, 32 * 10**9, 8 * 10**9])
    return keys, d, _dkg.params_from_definition(d)


def run_round1(keys, params):
    return [list(x) for x in zip(*[_dkg.round1(params, i + 1, keys[i]) for i in range(N)])]


def run_all(keys, d, params):
    st, msgs = run_round1(keys, params)
    st, msgs2 = [list(x) for x in zip(*[_dkg.round2(params, st[i], msgs, keys[i]) for i in range(N)])]
    st, msgs3 = [list(x) for x in zip(*[_dkg.round3(params, st[i], msgs2, keys[i], _dkg.lock_builder(d))
                                        for i in range(N)])]
    return [_dkg.finish(params, st[i], msgs3) for i in range(N)]


def resign(key, msg):
    return tc.sign_message(key, msg["body"])


def test_full_ceremony_lock_verifies_and_threshold_reconstructs(cluster):
    keys, d, params = cluster
    results = run_all(keys, d, params)
    locks = [_dkg.assemble_lock(d, r[0]) for r in results]
    assert len({bytes(lk.lock_hash) for lk in locks}) == 1
    assert len({_cluster.marshal_lock(lk) for lk in locks}) == 1
    report = _cluster.verify_lock(locks[0])
    assert report.valid, report.as_dict()
    assert [dd.amount for dd in locks[0].distributed_validators[0].partial_deposit_data] == [8 * 10**9, 32 * 10**9]
    for v, dv in enumerate(locks[0].distributed_validators):
        for subset in itertools.combinations(range(N), T):
            sk = _bls.interpolate_scalars({k + 1: results[k][1][v] for k in subset})
            assert _bls.secret_to_public(sk) == bytes(dv.distributed_public_key)
        for subset in itertools.combinations(range(N), T - 1):
            sk = _bls.interpolate_scalars({k + 1: results[k][1][v] for k in subset})
            assert _bls.secret_to_public(sk) != bytes(dv.distributed_public_key)
        for k in range(N):
            assert _bls.secret_to_public(results[k][1][v]) == bytes(dv.public_shares[k])


def test_definition_algorithm_and_threshold_rules(cluster):
    keys, d, params = cluster
    bad = dict(params, threshold=1)
    with pytest.raises(_dkg.DKGError, match="threshold"):
        _dkg.round1(bad, 1, keys[0])
    assert len(_dkg.ALGORITHM.encode()) <= 32


def test_bad_share_names_the_dealer(cluster):
    keys, params = cluster[0], cluster[2]
    st, msgs = run_round1(keys, params)
    # Operator 2 (malicious, holding its own key) sends operator 1 shares off its polynomial.
    body = copy.deepcopy(msgs[1]["body"])
    eph = tc.new_ephemeral_key()
    body["ephemeral_pubkey"] = "0x" + _k1.public_key(eph).hex()
    good = {}
    for m in range(1, N + 1):
        if m == 2:
            continue
        shares = [(5 + v).to_bytes(32, "big") for v in range(V)]
        good[str(m)] = "0x" + tc.encrypt_shares(eph, params["operators"][m - 1], params["definition_hash"], 2, m,
                                                shares).hex()
    body["shares"] = good
    msgs[1] = tc.sign_message(keys[1], body)
    with pytest.raises(_dkg.DKGError, match="operator 2 sent this operator a share") as exc:
        _dkg.round2(params, st[0], msgs, keys[0])
    assert exc.value.culprit == 2


def test_bad_proof_of_knowledge_names_the_dealer(cluster):
    keys, params = cluster[0], cluster[2]
    st, msgs = run_round1(keys, params)
    body = copy.deepcopy(msgs[2]["body"])
    pok = bytes.fromhex(body["pok"][1][2:])
    body["pok"][1] = "0x" + (pok[:48] + ((int.from_bytes(pok[48:], "big") + 1) % _dkg.R).to_bytes(32, "big")).hex()
    msgs[2] = tc.sign_message(keys[2], body)
    with pytest.raises(_dkg.DKGError, match="operator 3 sent an invalid proof of knowledge") as exc:
        _dkg.round2(params, st[0], msgs, keys[0])
    assert exc.value.culprit == 3


def test_tampered_message_fails_signature_check(cluster):
    keys, params = cluster[0], cluster[2]
    st, msgs = run_round1(keys, params)
    msgs[3] = copy.deepcopy(msgs[3])
    msgs[3]["body"]["nonce"] = "0x" + "00" * 16
    with pytest.raises(_dkg.DKGError, match="round-1 message from operator 4: the message signature") as exc:
        _dkg.round2(params, st[0], msgs, keys[0])
    assert exc.value.culprit == 4


def test_missing_and_duplicate_messages(cluster):
    keys, params = cluster[0], cluster[2]
    st, msgs = run_round1(keys, params)
    with pytest.raises(_dkg.DKGError, match=r"no round-1 message from operator\(s\) 3"):
        _dkg.round2(params, st[0], msgs[:2] + msgs[3:], keys[0])
    with pytest.raises(_dkg.DKGError, match="two round-1 messages"):
        _dkg.round2(params, st[0], msgs + [msgs[1]], keys[0])


def test_own_message_replaced_is_detected(cluster):
    keys, params = cluster[0], cluster[2]
    st, msgs = run_round1(keys, params)
    other = _dkg.round1(params, 1, keys[0])[1]
    with pytest.raises(_dkg.DKGError, match="own round-1 message was replaced"):
        _dkg.round2(params, st[0], [other] + msgs[1:], keys[0])


def test_equivocation_is_detected_in_round3(cluster):
    keys, d, params = cluster
    st, msgs = run_round1(keys, params)
    # The relay shows operator 1 a different (validly signed) broadcast of operator 3 than the others.
    st3b, alt = _dkg.round1(params, 3, keys[2])
    seen = [list(msgs) for dummy in range(N)]
    seen[0][2] = alt
    states = list(st)
    states[2] = st[2]
    out = [_dkg.round2(params, states[i], seen[i], keys[i]) for i in range(N)]
    msgs2 = [m for dummy, m in out]
    with pytest.raises(_dkg.DKGError, match="operator 1 saw a different round-1 transcript") as exc:
        _dkg.round3(params, out[1][0], msgs2, keys[1], _dkg.lock_builder(d))
    assert exc.value.culprit == 1
    with pytest.raises(_dkg.DKGError, match="saw a different round-1 transcript"):
        _dkg.round3(params, out[0][0], msgs2, keys[0], _dkg.lock_builder(d))


def test_bad_partial_signature_names_the_signer(cluster):
    keys, d, params = cluster
    st, msgs = run_round1(keys, params)
    out = [_dkg.round2(params, st[i], msgs, keys[i]) for i in range(N)]
    msgs2 = [m for dummy, m in out]
    body = copy.deepcopy(msgs2[3]["body"])
    raw = bytearray(bytes.fromhex(body["partial_signatures"][2:]))
    raw[96:192] = _bls.sign(12345, b"something else")
    body["partial_signatures"] = "0x" + bytes(raw).hex()
    msgs2[3] = tc.sign_message(keys[3], body)
    with pytest.raises(_dkg.DKGError, match="operator 4 sent an invalid partial signature") as exc:
        _dkg.round3(params, out[0][0], msgs2, keys[0], _dkg.lock_builder(d))
    assert exc.value.culprit == 4


def test_round_state_is_checked(cluster):
    keys, d, params = cluster
    st, msgs = run_round1(keys, params)
    with pytest.raises(_dkg.DKGError, match="no round-2 state"):
        _dkg.round3(params, st[0], msgs, keys[0], _dkg.lock_builder(d))


def test_share_encryption_roundtrip_and_binding():
    recipient = _k1.generate_private_key()
    eph = tc.new_ephemeral_key()
    dh = b"\x01" * 32
    shares = [bytes([i]) * 32 for i in range(3)]
    blob = tc.encrypt_shares(eph, _k1.public_key(recipient), dh, 1, 2, shares)
    assert tc.decrypt_shares(recipient, _k1.public_key(eph), dh, 1, 2, blob, 3) == shares
    with pytest.raises(tc.TransportError):
        tc.decrypt_shares(_k1.generate_private_key(), _k1.public_key(eph), dh, 1, 2, blob, 3)
    with pytest.raises(tc.TransportError):
        tc.decrypt_shares(recipient, _k1.public_key(eph), b"\x02" * 32, 1, 2, blob, 3)
    with pytest.raises(tc.TransportError):
        tc.decrypt_shares(recipient, _k1.public_key(eph), dh, 3, 2, blob, 3)
    swapped = blob[48:96] + blob[:48] + blob[96:]
    with pytest.raises(tc.TransportError, match="validator 0"):
        tc.decrypt_shares(recipient, _k1.public_key(eph), dh, 1, 2, swapped, 3)


def test_message_signature():
    key = _k1.generate_private_key()
    msg = tc.sign_message(key, {"a": 1, "b": "x"})
    assert tc.verify_message(msg, _k1.public_key(key)) == {"a": 1, "b": "x"}
    with pytest.raises(tc.TransportError):
        tc.verify_message(msg, _k1.public_key(_k1.generate_private_key()))
