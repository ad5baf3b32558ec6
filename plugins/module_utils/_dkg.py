# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""The native DKG (FROST key generation, ``dkg_algorithm: frost``): one pure function per round, state in, messages out.

Algorithm: FROST KeyGen (Komlo-Goldberg), i.e. Pedersen's DKG with Feldman commitments and a
Schnorr proof of knowledge of each dealer's constant term, over BLS12-381 G1, once per validator.
Operators are participants 1..n in definition order (share index = position + 1, as charon).

``round1``  every operator deals: random polynomial f_i,v of degree t-1 per validator, Feldman
            commitments C_i,v,j = a_i,v,j*G1, a Schnorr PoK of a_i,v,0 bound to the definition
            hash, and the shares f_i,v(m) encrypted to each peer m's ENR key (``_dkg_crypto``).
``round2``  checks every dealer's signature, PoKs and the shares it received (Feldman; batched
            with random linear combinations, then per dealer to name a culprit), sums its shares
            x_m,v, derives group keys and all public shares from the summed commitments, and
            partially signs the deposit messages (per amount) and builder registrations.  It
            carries the hash of the round-1 transcript as this operator saw it.
``round3``  compares transcripts (equivocation by the relay aborts here), verifies every partial
            signature in one multi-pairing, threshold-combines them (shares 1..t), builds the lock
            (through the caller's ``build_lock``), signs the lock hash with the ENR key (node
            signature) and with the sum of its BLS shares (its part of signature_aggregate).
``finish``  checks every operator reached the same lock hash and transcript, verifies node and
            aggregate signatures, and returns the completed lock plus this operator's shares.

No function ever sees another operator's secret share or a validator's full secret key; the
caller (the Ansible module) keeps the returned state in a 0600 file on the operator's host.
"""

from __future__ import annotations

import hashlib
import secrets

from ansible_collections.dvops.charon.plugins.module_utils import _deps, _eth2, _k1
from ansible_collections.dvops.charon.plugins.module_utils import _dkg_crypto as _tc
from ansible_collections.dvops.charon.plugins.module_utils._dkg_crypto import TransportError, unhex

# The definition's dkg_algorithm names the key-generation protocol, and charon reads it again after a
# ceremony: `charon alpha edit add-validators` (and `charon dkg` rerun on the definition) switches on the
# lock's value once all peers are connected and accepts only "default", "frost" and "pedersen"
# (charon v1.10.3 dkg/dkg.go: "default" and "frost" run runFrostParallel, anything else is "unsupported dkg
# algorithm").  The native ceremony is FROST KeyGen (Komlo-Goldberg: Pedersen DKG + Feldman commitments +
# Schnorr proofs of knowledge), the same algorithm as charon's "frost" (kryptology's FROST DKG), producing
# the same kind of Shamir shares of a BLS key with share index = operator position + 1.  So the native engine
# records "frost": honest about the algorithm, and a lock charon's own tools keep working with (a later
# add-validators runs charon's FROST for the new validators only).  Not "default": that is charon's choice
# of the day and may name another algorithm in a later release.
ALGORITHM = "frost"
# What earlier releases of this collection wrote.  Such locks stay readable and verifiable (the value is
# hashed as stored), and the native engine still accepts such a definition; charon's tools refuse it.
LEGACY_ALGORITHM = "dvops-frost-keygen-v1"
# Values whose ceremony is FROST KeyGen, so the native engine can run the definition: charon v1.10.3 maps
# "default" to FROST too (a definition from `charon create dkg` without --dkg-algorithm).
NATIVE_ALGORITHMS = (ALGORITHM, "default", LEGACY_ALGORITHM)
# What `charon dkg` v1.10.3 runs (dkg/dkg.go); anything else stops it after every peer connected.
CHARON_ALGORITHMS = ("default", "frost", "pedersen")
R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
DST = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
POK_LABEL = b"dvops-dkg-pok-v1"
TRANSCRIPT_LABEL = b"dvops-dkg-transcript-v1"
G1_LEN, G2_LEN = 48, 96


class DKGError(Exception):
    """The ceremony must abort; ``culprit`` is the 1-based operator index to blame, when known."""

    def __init__(self, message, culprit=None):
        super(DKGError, self).__init__(message)
        self.culprit = culprit


# Curve helpers ---------------------------------------------------------------------------------

def _lib():
    return _deps.require("py_arkworks_bls12381")


def _sc(k):
    return _lib().Scalar(int(k) % R)


def _g1(data, what, culprit=None):
    """Decompress a peer's G1 point.  arkworks' checked decompression includes the subgroup check
    (a non-subgroup point raises), so no separate ``is_in_subgroup`` call is needed."""
    try:
        return _lib().G1Point.from_compressed_bytes(bytes(data))
    except Exception:
        raise DKGError("%s is not a valid G1 point in the prime-order subgroup" % what, culprit)


def _g2(data, what, culprit=None):
    try:
        return _lib().G2Point.from_compressed_bytes(bytes(data))
    except Exception:
        raise DKGError("%s is not a valid G2 point in the prime-order subgroup" % what, culprit)


def _own_g1(hex_text):
    # Points this host computed itself and kept in its 0600 state file: no need to re-check.
    return _lib().G1Point.from_compressed_bytes_unchecked(bytes.fromhex(hex_text))


def _msm_g1(points, scalars):
    return _lib().G1Point.multiexp_unchecked(points, [_sc(s) for s in scalars])


def _msm_g2(points, scalars):
    return _lib().G2Point.multiexp_unchecked(points, [_sc(s) for s in scalars])


def _is_identity(point, group):
    return point == group.identity()


def _h2c(msg):
    return _lib().G2Point.hash_to_curve(bytes(msg), DST)


def _rand128():
    # Random weights for batch verification: 128 bits make a forged batch pass with prob. 2^-128.
    return secrets.randbits(128) | 1


def _lagrange_at_zero(xs):
    out = []
    for i, xi in enumerate(xs):
        num, den = 1, 1
        for j, xj in enumerate(xs):
            if i != j:
                num = num * (-xj) % R
                den = den * (xi - xj) % R
        out.append(num * pow(den, R - 2, R) % R)
    return out


def _eval_poly(coeffs, x):
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + c) % R
    return acc


def _pok_challenge(definition_hash, sender, validator, c0, r_point):
    data = (POK_LABEL + definition_hash + sender.to_bytes(2, "big") + validator.to_bytes(4, "big") + c0 + r_point)
    return int.from_bytes(hashlib.sha256(data).digest(), "big") % R


def _transcript(definition_hash, round_no, messages_in_order):
    h = hashlib.sha256(TRANSCRIPT_LABEL + definition_hash + bytes([round_no]))
    for msg in messages_in_order:
        h.update(_tc.message_digest(msg))
    return h.digest()


# Ceremony parameters -----------------------------------------------------------------------------

def check_params(params):
    """Validate the ceremony parameters (built from a verified definition); raise DKGError."""
    n = len(params["operators"])
    t = params["threshold"]
    v = params["num_validators"]
    if n < 2:
        raise DKGError("a DKG needs at least 2 operators, the definition has %d" % n)
    if not 2 <= t <= n:
        raise DKGError("threshold %d must satisfy 2 <= threshold <= operators (%d)" % (t, n))
    if v < 1:
        raise DKGError("num_validators must be at least 1")
    if len(params["withdrawal_credentials"]) != v or len(params["fee_recipients"]) != v:
        raise DKGError("the definition lists %d validators' addresses for num_validators=%d"
                       % (len(params["fee_recipients"]), v))
    if not params["amounts"]:
        raise DKGError("no deposit amounts")
    if len(params["definition_hash"]) != 32:
        raise DKGError("definition_hash must be 32 bytes")
    return n, t, v


def signing_roots(params, group_key, v):
    """Roots validator ``v`` signs: one deposit message per amount, then the builder registration."""
    wc = params["withdrawal_credentials"][v]
    roots = [_eth2.deposit_signing_root(group_key, wc, amount, params["fork_version"]) for amount in params["amounts"]]
    roots.append(_eth2.registration_signing_root(params["fee_recipients"][v], params["gas_limit"],
                                                 params["registration_timestamp"], group_key, params["fork_version"]))
    return roots


def _sorted_messages(params, messages, round_no):
    """Index the messages by sender, check there is exactly one per operator, verify signatures."""
    n = len(params["operators"])
    by_sender = {}
    for msg in messages:
        body = msg.get("body") if isinstance(msg, dict) else None
        sender = body.get("sender") if isinstance(body, dict) else None
        if not isinstance(sender, int) or isinstance(sender, bool) or not 1 <= sender <= n:
            raise DKGError("a round-%d message has no valid sender index" % round_no)
        if sender in by_sender:
            raise DKGError("two round-%d messages claim to come from operator %d" % (round_no, sender), sender)
        try:
            _tc.verify_message(msg, params["operators"][sender - 1])
        except TransportError as exc:
            raise DKGError("round-%d message from operator %d: %s" % (round_no, sender, exc), sender)
        if body.get("round") != round_no:
            raise DKGError("operator %d sent a round-%r message where round %d was expected"
                           % (sender, body.get("round"), round_no), sender)
        if body.get("definition_hash") != "0x" + params["definition_hash"].hex():
            raise DKGError("operator %d runs the ceremony for a different definition (hash %s)"
                           % (sender, body.get("definition_hash")), sender)
        by_sender[sender] = msg
    missing = [i for i in range(1, n + 1) if i not in by_sender]
    if missing:
        raise DKGError("no round-%d message from operator(s) %s: they did not complete the previous step"
                       % (round_no, ", ".join(str(i) for i in missing)), missing[0])
    return [by_sender[i] for i in range(1, n + 1)]


def _check_own(state, ordered, round_no):
    own = ordered[state["index"] - 1]
    if _tc.message_digest(own).hex() != state["message_digest"]:
        raise DKGError("this operator's own round-%d message was replaced in transit or comes from an earlier "
                       "attempt: restart the ceremony" % round_no, state["index"])


def _round_messages(params, state, messages, round_no):
    """Check this host holds the state of ``round_no`` for this definition, then return the
    round's messages in operator order, with this host's own message unchanged in transit."""
    if state.get("round") != round_no or state.get("definition_hash") != params["definition_hash"].hex():
        raise DKGError("no round-%d state for this definition on this host: restart the ceremony from round 1" % round_no)
    ordered = _sorted_messages(params, messages, round_no)
    _check_own(state, ordered, round_no)
    return ordered


def _field(body, key, sender, size=None):
    try:
        return unhex(body.get(key), size, key)
    except TransportError as exc:
        raise DKGError("operator %d: %s" % (sender, exc), sender)


# Round 1 ---------------------------------------------------------------------------------------

def round1(params, index, enr_key):
    """Deal this operator's contribution.  Returns (state, message); the state holds secrets."""
    n, t, v_count = check_params(params)
    if not 1 <= index <= n:
        raise DKGError("operator index %d out of range 1..%d" % (index, n))
    lib = _lib()
    g = lib.G1Point()
    dh = params["definition_hash"]
    commitments, poks, self_shares = [], [], []
    shares_for = {m: [] for m in range(1, n + 1) if m != index}
    for v in range(v_count):
        coeffs = [secrets.randbelow(R - 1) + 1 for dummy in range(t)]
        comm = [(g * _sc(a)).to_compressed_bytes() for a in coeffs]
        k = secrets.randbelow(R - 1) + 1
        r_point = (g * _sc(k)).to_compressed_bytes()
        c = _pok_challenge(dh, index, v, comm[0], r_point)
        mu = (k + coeffs[0] * c) % R
        commitments.append("0x" + b"".join(comm).hex())
        poks.append("0x" + (r_point + mu.to_bytes(32, "big")).hex())
        for m in range(1, n + 1):
            share = _eval_poly(coeffs, m).to_bytes(32, "big")
            if m == index:
                self_shares.append(share.hex())
            else:
                shares_for[m].append(share)
    eph = _tc.new_ephemeral_key()
    encrypted = {}
    for m, shares in shares_for.items():
        encrypted[str(m)] = "0x" + _tc.encrypt_shares(eph, params["operators"][m - 1], dh, index, m, shares).hex()
    body = {
        "round": 1,
        "definition_hash": "0x" + dh.hex(),
        "sender": index,
        "nonce": "0x" + secrets.token_bytes(16).hex(),
        "ephemeral_pubkey": "0x" + _k1.public_key(eph).hex(),
        "commitments": commitments,
        "pok": poks,
        "shares": encrypted,
    }
    message = _tc.sign_message(enr_key, body)
    state = {"round": 1, "definition_hash": dh.hex(), "index": index, "self_shares": self_shares,
             "message_digest": _tc.message_digest(message).hex()}
    return state, message


# Round 2 ---------------------------------------------------------------------------------------

def _parse_round1(params, ordered):
    t, v_count = check_params(params)[1:]
    parsed = []
    for i, msg in enumerate(ordered, 1):
        body = msg["body"]
        comms, poks = body.get("commitments"), body.get("pok")
        if not isinstance(comms, list) or len(comms) != v_count or not isinstance(poks, list) or len(poks) != v_count:
            raise DKGError("operator %d sent commitments/proofs for the wrong number of validators" % i, i)
        cpoints, cbytes, rs, mus = [], [], [], []
        for v in range(v_count):
            raw = _field({"c": comms[v]}, "c", i, t * G1_LEN)
            cbytes.append([raw[j * G1_LEN:(j + 1) * G1_LEN] for j in range(t)])
            cpoints.append([_g1(cb, "operator %d commitment %d of validator %d" % (i, j, v), i)
                            for j, cb in enumerate(cbytes[-1])])
            pok = _field({"p": poks[v]}, "p", i, G1_LEN + 32)
            rs.append((pok[:G1_LEN], _g1(pok[:G1_LEN], "operator %d proof of validator %d" % (i, v), i)))
            mus.append(int.from_bytes(pok[G1_LEN:], "big"))
        parsed.append({"cbytes": cbytes, "c": cpoints, "r": rs, "mu": mus})
    return parsed


def _verify_poks(params, parsed, senders):
    """Schnorr PoKs of all given dealers in one multiexp: sum z*(mu*G - c*C0 - R) == 0."""
    lib = _lib()
    dh = params["definition_hash"]
    points, scalars, g_scalar = [], [], 0
    for i in senders:
        d = parsed[i - 1]
        for v, (c_bytes, (r_bytes, r_point)) in enumerate(zip(d["cbytes"], d["r"])):
            z = _rand128()
            c = _pok_challenge(dh, i, v, c_bytes[0], r_bytes)
            g_scalar = (g_scalar + z * d["mu"][v]) % R
            points.extend([d["c"][v][0], r_point])
            scalars.extend([-z * c, -z])
    points.append(lib.G1Point())
    scalars.append(g_scalar)
    return _is_identity(_msm_g1(points, scalars), lib.G1Point)


def _verify_feldman(parsed, index, received, senders):
    """Shares received from the dealers in one multiexp: sum z*(s*G - sum_j m^j C_j) == 0."""
    lib = _lib()
    points, scalars, g_scalar = [], [], 0
    for i in senders:
        d = parsed[i - 1]
        for v, share in enumerate(received[i]):
            z = _rand128()
            g_scalar = (g_scalar + z * share) % R
            power = z
            for cpoint in d["c"][v]:
                points.append(cpoint)
                scalars.append(-power)
                power = power * index % R
    points.append(lib.G1Point())
    scalars.append(g_scalar)
    return _is_identity(_msm_g1(points, scalars), lib.G1Point)


def round2(params, state, messages, enr_key):
    """Verify round 1, derive this operator's key shares, partially sign.  Returns (state, message)."""
    n, t, v_count = check_params(params)
    lib = _lib()
    index = state["index"]
    dh = params["definition_hash"]
    ordered = _round_messages(params, state, messages, 1)
    parsed = _parse_round1(params, ordered)
    others = [i for i in range(1, n + 1) if i != index]

    if not _verify_poks(params, parsed, range(1, n + 1)):
        for i in range(1, n + 1):
            if not _verify_poks(params, parsed, [i]):
                raise DKGError("operator %d sent an invalid proof of knowledge of its secret" % i, i)
        raise DKGError("the proofs of knowledge do not verify")

    received = {index: [int(s, 16) for s in state["self_shares"]]}
    for i in others:
        body = ordered[i - 1]["body"]
        blob = body.get("shares", {}).get(str(index)) if isinstance(body.get("shares"), dict) else None
        if blob is None:
            raise DKGError("operator %d sent no shares for this operator (%d)" % (i, index), i)
        try:
            plain = _tc.decrypt_shares(enr_key, _field(body, "ephemeral_pubkey", i, 33), dh, i, index,
                                       _field({"s": blob}, "s", i), v_count)
        except TransportError as exc:
            raise DKGError("operator %d: %s" % (i, exc), i)
        received[i] = [int.from_bytes(s, "big") for s in plain]
        if any(not 0 <= s < R for s in received[i]):
            raise DKGError("operator %d sent a share outside the scalar field" % i, i)

    if not _verify_feldman(parsed, index, received, others):
        for i in others:
            if not _verify_feldman(parsed, index, received, [i]):
                raise DKGError("operator %d sent this operator a share that does not match its commitments" % i, i)
        raise DKGError("the received shares do not verify")

    shares, group_keys, public_shares, partials, hashes = [], [], [], [], []
    identity = lib.G1Point.identity()
    xs = list(range(1, n + 1))
    for v in range(v_count):
        x = sum(received[i][v] for i in xs) % R
        if x == 0:
            raise DKGError("key share of validator %d is zero; restart the ceremony" % v)
        summed = []
        for j in range(t):
            acc = identity
            for i in xs:
                acc = acc + parsed[i - 1]["c"][v][j]
            summed.append(acc)
        group_key = summed[0].to_compressed_bytes()
        if summed[0] == identity:
            raise DKGError("validator %d's group key is the identity; restart the ceremony" % v)
        pub = []
        for k in xs:
            pub.append(_msm_g1(summed, [pow(k, j, R) for j in range(t)]).to_compressed_bytes())
        if (lib.G1Point() * _sc(x)).to_compressed_bytes() != pub[index - 1]:
            raise DKGError("this operator's key share of validator %d does not match its public share" % v)
        for root in signing_roots(params, group_key, v):
            hashed = _h2c(root)
            # Round 3 needs the same hashes to verify the peers' partials: keep them (uncompressed,
            # loads in microseconds) instead of hashing to the curve twice.
            hashes.append(hashed.to_xy_bytes_be().hex())
            partials.append((hashed * _sc(x)).to_compressed_bytes())
        shares.append(x)
        group_keys.append(group_key)
        public_shares.append(pub)

    t1 = _transcript(dh, 1, ordered)
    body = {
        "round": 2,
        "definition_hash": "0x" + dh.hex(),
        "sender": index,
        "transcript": "0x" + t1.hex(),
        "partial_signatures": "0x" + b"".join(partials).hex(),
    }
    message = _tc.sign_message(enr_key, body)
    new_state = {
        "round": 2, "definition_hash": dh.hex(), "index": index,
        "shares": ["%064x" % x for x in shares],
        "group_keys": [gk.hex() for gk in group_keys],
        "public_shares": [[p.hex() for p in pub] for pub in public_shares],
        "transcript1": t1.hex(),
        "message_hashes": hashes,
        "message_digest": _tc.message_digest(message).hex(),
    }
    return new_state, message


# Round 3 ---------------------------------------------------------------------------------------

def _check_transcripts(ordered, expected, round_no):
    for i, msg in enumerate(ordered, 1):
        if msg["body"].get("transcript") != "0x" + expected.hex():
            raise DKGError("operator %d saw a different round-%d transcript than this operator: a broadcast was "
                           "altered or equivocated in transit; the ceremony is aborted" % (i, round_no), i)


def _public_shares_points(state):
    return [[_own_g1(p) for p in pub] for pub in state["public_shares"]]


def round3(params, state, messages, enr_key, build_lock):
    """Verify round 2, combine the signatures, build and sign the lock.

    ``build_lock(distributed_validators) -> (lock_dict_without_signatures, lock_hash_bytes)`` is
    supplied by the caller (``_cluster``), so this module stays independent of the lock format.
    """
    n, t, v_count = check_params(params)
    lib = _lib()
    index = state["index"]
    dh = params["definition_hash"]
    ordered = _round_messages(params, state, messages, 2)
    _check_transcripts(ordered, bytes.fromhex(state["transcript1"]), 1)

    groups = len(params["amounts"]) + 1
    n_msgs = v_count * groups
    sigs = {}
    for k, msg in enumerate(ordered, 1):
        raw = _field(msg["body"], "partial_signatures", k, n_msgs * G2_LEN)
        sigs[k] = [_g2(raw[j * G2_LEN:(j + 1) * G2_LEN], "operator %d partial signature %d" % (k, j), k)
                   for j in range(n_msgs)]
    group_keys = [bytes.fromhex(gk) for gk in state["group_keys"]]
    pubs = _public_shares_points(state)
    hashes = [lib.G2Point.from_xy_bytes_unchecked_be(bytes.fromhex(h)) for h in state["message_hashes"]]
    if len(hashes) != n_msgs:
        raise DKGError("the round-2 state does not match the definition: restart the ceremony")

    def verify(senders):
        # Weights z_k * w_M (random, 128 bits each): the batch equation is a nonzero degree-2
        # polynomial in them when any partial is wrong, so it passes with probability <= 2^-127,
        # and it collapses to one pairing per validator:
        #   prod_v e(sum_k z_k Y_vk, sum_M w_M H(M)) == e(G1, sum_kM z_k w_M sigma_kM)
        zs = {k: _rand128() for k in senders}
        g1s, g2s, sig_points, sig_scalars = [], [], [], []
        for v in range(v_count):
            ws = [_rand128() for dummy in range(groups)]
            g1s.append(_msm_g1([pubs[v][k - 1] for k in senders], [zs[k] for k in senders]))
            g2s.append(_msm_g2(hashes[v * groups:(v + 1) * groups], ws))
            for k in senders:
                for a in range(groups):
                    sig_points.append(sigs[k][v * groups + a])
                    sig_scalars.append(zs[k] * ws[a])
        g1s.append(-lib.G1Point())
        g2s.append(_msm_g2(sig_points, sig_scalars))
        return bool(lib.GT.pairing_check(g1s, g2s))

    if not verify(range(1, n + 1)):
        for k in range(1, n + 1):
            if not verify([k]):
                raise DKGError("operator %d sent an invalid partial signature" % k, k)
        raise DKGError("the partial signatures do not verify")

    xs = list(range(1, t + 1))
    lam = _lagrange_at_zero(xs)
    combined = [_msm_g2([sigs[k][msg_i] for k in xs], lam).to_compressed_bytes() for msg_i in range(n_msgs)]

    dvs = []
    for v in range(v_count):
        gk = group_keys[v]
        base = v * groups
        wc = params["withdrawal_credentials"][v]
        dvs.append({
            "distributed_public_key": "0x" + gk.hex(),
            "public_shares": ["0x" + p for p in state["public_shares"][v]],
            "builder_registration": {
                "message": {
                    "fee_recipient": "0x" + params["fee_recipients"][v].hex(),
                    "gas_limit": params["gas_limit"],
                    "timestamp": params["registration_timestamp"],
                    "pubkey": "0x" + gk.hex(),
                },
                "signature": "0x" + combined[base + groups - 1].hex(),
            },
            "partial_deposit_data": [
                {"pubkey": "0x" + gk.hex(), "withdrawal_credentials": "0x" + wc.hex(), "amount": str(amount),
                 "signature": "0x" + combined[base + a].hex()}
                for a, amount in enumerate(params["amounts"])
            ],
        })
    lock, lock_hash = build_lock(dvs)
    if len(lock_hash) != 32:
        raise DKGError("build_lock returned a lock hash of %d bytes" % len(lock_hash))
    share_sum = sum(int(x, 16) for x in state["shares"]) % R
    # All of this operator's shares sign the same lock hash, so their plain aggregate is
    # (sum of shares) * H(lock_hash): one scalar multiplication instead of one per validator.
    lock_sig = (_h2c(lock_hash) * _sc(share_sum)).to_compressed_bytes()
    t2 = _transcript(dh, 2, ordered)
    body = {
        "round": 3,
        "definition_hash": "0x" + dh.hex(),
        "sender": index,
        "transcript": "0x" + t2.hex(),
        "lock_hash": "0x" + lock_hash.hex(),
        "node_signature": "0x" + _k1.sign(enr_key, lock_hash).hex(),
        "lock_signature": "0x" + lock_sig.hex(),
    }
    message = _tc.sign_message(enr_key, body)
    new_state = dict(state)
    new_state.update({"round": 3, "transcript2": t2.hex(), "lock_hash": lock_hash.hex(), "lock": lock,
                      "message_digest": _tc.message_digest(message).hex()})
    return new_state, message


# Finish ----------------------------------------------------------------------------------------

def finish(params, state, messages):
    """Check agreement and the lock signatures; return (lock, shares) where ``lock`` is the completed
    lock dict (signature_aggregate, node_signatures) and ``shares`` this operator's secret key
    shares (ints, validator order) for its keystores."""
    n = check_params(params)[0]
    lib = _lib()
    ordered = _round_messages(params, state, messages, 3)
    _check_transcripts(ordered, bytes.fromhex(state["transcript2"]), 2)
    lock_hash = bytes.fromhex(state["lock_hash"])
    for k, msg in enumerate(ordered, 1):
        if msg["body"].get("lock_hash") != "0x" + lock_hash.hex():
            raise DKGError("operator %d computed a different lock hash (%s) than this operator (0x%s)"
                           % (k, msg["body"].get("lock_hash"), lock_hash.hex()), k)
    node_sigs, agg_parts = [], []
    for k, msg in enumerate(ordered, 1):
        sig = _field(msg["body"], "node_signature", k, 65)
        if not _k1.verify65(params["operators"][k - 1], sig, lock_hash):
            raise DKGError("operator %d's node signature over the lock hash does not verify" % k, k)
        node_sigs.append(sig)
        agg_parts.append(_g2(_field(msg["body"], "lock_signature", k, G2_LEN), "operator %d lock signature" % k, k))
    pubs = _public_shares_points(state)
    h = _h2c(lock_hash)
    identity = lib.G1Point.identity()
    sums = []
    for k in range(n):
        acc = identity
        for pub in pubs:
            acc = acc + pub[k]
        sums.append(acc)

    def verify(ks):
        zs = [_rand128() for dummy in ks]
        return bool(lib.GT.pairing_check([_msm_g1([sums[k - 1] for k in ks], zs), -lib.G1Point()],
                                         [h, _msm_g2([agg_parts[k - 1] for k in ks], zs)]))

    if not verify(range(1, n + 1)):
        for k in range(1, n + 1):
            if not verify([k]):
                raise DKGError("operator %d's BLS signature over the lock hash does not verify" % k, k)
        raise DKGError("the lock hash signatures do not verify")
    total = lib.G2Point.identity()
    for part in agg_parts:
        total = total + part
    lock = dict(state["lock"])
    lock["signature_aggregate"] = "0x" + total.to_compressed_bytes().hex()
    lock["node_signatures"] = ["0x" + s.hex() for s in node_sigs]
    return lock, [int(x, 16) for x in state["shares"]]


# charon glue: parameters from a definition, the lock through _cluster -----------------------------

NATIVE_MIN_MINOR = 8  # partial_deposit_data per amount (v1.8+); older definitions: use engine charon


def _minor(version):
    try:
        return int(str(version).lstrip("v").split(".")[1])
    except (IndexError, ValueError):
        raise DKGError("unsupported definition version %r" % (version,))


def deposit_amounts(definition):
    """Amounts DKG signs, in Gwei: the definition's, deduplicated and sorted (charon DedupAmounts),
    or charon's defaults [1, 32] ETH ([1, 8, 32, 256] ETH when compounding)."""
    from ansible_collections.dvops.charon.plugins.module_utils import _deposit  # pylint: disable=import-outside-toplevel
    if definition.deposit_amounts:
        return _deposit.dedup_amounts(definition.deposit_amounts)
    return _deposit.default_amounts(definition.version, definition.compounding)


def deposit_file_name(amount):
    from ansible_collections.dvops.charon.plugins.module_utils import _deposit  # pylint: disable=import-outside-toplevel
    return _deposit.deposit_file_name(amount)


def deposit_files(lock, network_name):
    """[(file name, bytes)] of charon's deposit-data files of a v1.8+ lock, one per amount."""
    from ansible_collections.dvops.charon.plugins.module_utils import _deposit  # pylint: disable=import-outside-toplevel
    by_amount = {}
    fork = bytes(lock.definition.fork_version)
    for dv in lock.distributed_validators:
        for dd in dv.partial_deposit_data:
            by_amount.setdefault(dd.amount, []).append(_deposit.deposit_entry(
                bytes(dd.pubkey), bytes(dd.withdrawal_credentials), dd.amount, bytes(dd.signature), fork, network_name))
    return [(_deposit.deposit_file_name(a), _deposit.marshal_deposit_file(by_amount[a])) for a in sorted(by_amount)]


def params_from_definition(definition, release=None):
    """Ceremony parameters of a verified ``_cluster.Definition`` (raises DKGError on unusable input)."""
    from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _enr  # pylint: disable=import-outside-toplevel
    if _minor(definition.version) < NATIVE_MIN_MINOR:
        raise DKGError("the native engine creates v1.8+ locks; definition version %s needs dvops_dkg_engine=charon"
                       % definition.version)
    operators = []
    for k, op in enumerate(definition.operators):
        try:
            operators.append(_enr.public_key_from_enr(op.enr))
        except Exception as exc:  # pylint: disable=broad-except
            raise DKGError("operators[%d].enr is not a valid ENR: %s" % (k, exc))
    if len(set(operators)) != len(operators):
        raise DKGError("the definition lists the same ENR twice")
    wcs, fees = [], []
    for k, val in enumerate(definition.validators):
        try:
            wcs.append(_eth2.withdrawal_credentials(bytes.fromhex(val.withdrawal_address[2:]), definition.compounding))
            fees.append(bytes.fromhex(val.fee_recipient_address[2:]))
        except ValueError as exc:
            raise DKGError("validators[%d]: invalid address: %s" % (k, exc))
    try:
        timestamp = _cluster.registration_timestamp(definition, release)
    except ValueError as exc:
        raise DKGError("cannot find the network of fork_version 0x%s: %s" % (bytes(definition.fork_version).hex(), exc))
    params = {
        "definition_hash": bytes(definition.definition_hash),
        "threshold": int(definition.threshold),
        "operators": operators,
        "num_validators": int(definition.num_validators),
        "fork_version": bytes(definition.fork_version),
        "amounts": deposit_amounts(definition),
        "withdrawal_credentials": wcs,
        "fee_recipients": fees,
        "gas_limit": _cluster.registration_gas_limit(definition),
        "registration_timestamp": timestamp,
    }
    check_params(params)
    return params


def _dv_models(dvs):
    from ansible_collections.dvops.charon.plugins.module_utils import _cluster  # pylint: disable=import-outside-toplevel
    out = []
    for dv in dvs:
        reg = dv["builder_registration"]
        msg = reg["message"]
        out.append(_cluster.new_distributed_validator(
            unhex(dv["distributed_public_key"]), [unhex(p) for p in dv["public_shares"]],
            builder_registration=_cluster.BuilderRegistration(
                fee_recipient=unhex(msg["fee_recipient"]), gas_limit=int(msg["gas_limit"]),
                timestamp=int(msg["timestamp"]), pubkey=unhex(msg["pubkey"]), signature=unhex(reg["signature"])),
            partial_deposit_data=[_cluster.new_deposit_data(unhex(dd["pubkey"]), unhex(dd["withdrawal_credentials"]),
                                                            int(dd["amount"]), unhex(dd["signature"]))
                                  for dd in dv["partial_deposit_data"]]))
    return out


def lock_builder(definition):
    """``build_lock`` for ``round3``: the charon lock hash of the DVs under ``definition``."""
    from ansible_collections.dvops.charon.plugins.module_utils import _cluster  # pylint: disable=import-outside-toplevel

    def build(dvs):
        lock = _cluster.new_lock(definition, _dv_models(dvs))
        return {"distributed_validators": dvs}, bytes(lock.lock_hash)
    return build


def assemble_lock(definition, finished):
    """The complete ``_cluster.Lock`` from ``finish``'s lock dict."""
    from ansible_collections.dvops.charon.plugins.module_utils import _cluster  # pylint: disable=import-outside-toplevel
    return _cluster.new_lock(definition, _dv_models(finished["distributed_validators"]),
                             signature_aggregate=unhex(finished["signature_aggregate"]),
                             node_signatures=[unhex(s) for s in finished["node_signatures"]])
