# -*- coding: utf-8 -*-
"""Unit tests for _exit: selection, partial signing/verification, threshold combination, shapes."""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _exit, _networks
from ansible_collections.dvops.charon.tests.fixtures.dealer import deal

MAINNET_CAPELLA = bytes.fromhex("03000000")
MAINNET_GVR = bytes.fromhex("4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95")
EPOCH = 194048


# An independent SSZ of the consensus-spec containers (phase0 beacon-chain.md): written here from
# the spec, not through _ssz / _eth2, so that a shared mistake cannot pass unnoticed.
def _sha(data):
    return hashlib.sha256(data).digest()


def _uint64(x):
    return x.to_bytes(8, "little").ljust(32, b"\0")


def _pad32(b):
    return b.ljust(32, b"\0")


def spec_signing_root(epoch, validator_index, fork_version, genesis_validators_root):
    # VoluntaryExit{epoch: Epoch, validator_index: ValidatorIndex}: two uint64 leaves.
    exit_root = _sha(_uint64(epoch) + _uint64(validator_index))
    # ForkData{current_version: Version (Bytes4), genesis_validators_root: Root}.
    fork_data_root = _sha(_pad32(fork_version) + genesis_validators_root)
    # compute_domain: domain_type + fork_data_root[:28]; DOMAIN_VOLUNTARY_EXIT = 0x04000000.
    domain = bytes.fromhex("04000000") + fork_data_root[:28]
    # SigningData{object_root: Root, domain: Domain (Bytes32)}.
    return _sha(exit_root + domain)


@pytest.fixture(scope="module")
def cluster():
    return deal(seed=b"exit-tests", n=4, t=3, num_validators=2)


def test_signing_root_matches_consensus_spec():
    for epoch, index in ((EPOCH, 0), (EPOCH, 123456), (256, 7), (0, 2 ** 40)):
        assert _exit.signing_root(epoch, index, MAINNET_CAPELLA, MAINNET_GVR) == \
            spec_signing_root(epoch, index, MAINNET_CAPELLA, MAINNET_GVR)
    # hoodi's Capella version, other root
    gvr = bytes(range(32))
    assert _exit.signing_root(256, 3, bytes.fromhex("40000910"), gvr) == \
        spec_signing_root(256, 3, bytes.fromhex("40000910"), gvr)


def test_partial_verifies_against_its_public_share_only(cluster):
    v = cluster.validators[0]
    sig = _exit.sign_partial(v.shares[2], EPOCH, 5, MAINNET_CAPELLA, MAINNET_GVR)
    assert _exit.verify_partial(v.public_shares[2], EPOCH, 5, MAINNET_CAPELLA, MAINNET_GVR, sig)
    assert not _exit.verify_partial(v.public_shares[1], EPOCH, 5, MAINNET_CAPELLA, MAINNET_GVR, sig)
    assert not _exit.verify_partial(v.public_shares[2], EPOCH + 1, 5, MAINNET_CAPELLA, MAINNET_GVR, sig)
    # EIP-7044: signing with the genesis fork version instead of Capella gives another root
    assert not _exit.verify_partial(v.public_shares[2], EPOCH, 5, bytes(4), MAINNET_GVR, sig)


def _partials(v, xs, index=5, epoch=EPOCH):
    out = []
    for x in xs:
        sig = _exit.sign_partial(v.shares[x], epoch, index, MAINNET_CAPELLA, MAINNET_GVR)
        out.append(_exit.normalize_partial(_exit.partial_record(v.pubkey, x, epoch, index, sig)))
    return out


def _combine(v, partials, t=3, index=5):
    return _exit.combine(_exit.hex0x(v.pubkey), v.public_shares_list(), t, EPOCH, index,
                         MAINNET_CAPELLA, MAINNET_GVR, partials)


def test_threshold_partials_combine_to_a_valid_exit(cluster):
    v = cluster.validators[1]
    sig, used, present = _combine(v, _partials(v, [4, 1, 3]))
    root = spec_signing_root(EPOCH, 5, MAINNET_CAPELLA, MAINNET_GVR)
    assert _bls.verify(v.pubkey, root, sig)
    assert used == [1, 3, 4] and present == [1, 3, 4]
    # any threshold subset gives the same (unique) signature: BLS is deterministic
    sig2 = _combine(v, _partials(v, [2, 3, 4]))[0]
    assert sig2 == sig == _bls.sign(v.secret, root)


def test_fewer_than_threshold_is_refused_with_the_missing_count(cluster):
    v = cluster.validators[0]
    with pytest.raises(_exit.ExitError, match=r"2 partial exits present, threshold is 3: 1 missing \(shares present: \[1, 2\]\)"):
        _combine(v, _partials(v, [1, 2]))
    with pytest.raises(_exit.ExitError, match="3 missing"):
        _combine(v, [])
    # t-1 partials interpolated anyway do not give a signature valid under the DV key
    parts = _partials(v, [1, 2])
    forged = _bls.interpolate_g2(dict((p["share_index"], p["signature"]) for p in parts))
    assert not _bls.verify(v.pubkey, _exit.signing_root(EPOCH, 5, MAINNET_CAPELLA, MAINNET_GVR), forged)


def test_bad_partial_is_named(cluster):
    v = cluster.validators[0]
    parts = _partials(v, [1, 2, 3])
    parts[1] = dict(parts[1], signature=_partials(cluster.validators[1], [2])[0]["signature"])
    with pytest.raises(_exit.ExitError, match="share 2 for validator 0x.* does not verify"):
        _combine(v, parts)
    other_epoch = _partials(v, [3], epoch=EPOCH + 1)
    with pytest.raises(_exit.ExitError, match="share 3 .* is for epoch 194049"):
        _combine(v, _partials(v, [1, 2]) + other_epoch)


def test_normalize_partial_accepts_both_shapes(cluster):
    v = cluster.validators[0]
    sig = _exit.sign_partial(v.shares[1], EPOCH, 9, MAINNET_CAPELLA, MAINNET_GVR)
    rec = _exit.partial_record(v.pubkey, 1, EPOCH, 9, sig)
    assert rec == {"public_key": _exit.hex0x(v.pubkey), "share_idx": 1,
                   "signed_exit_message": {"message": {"epoch": "194048", "validator_index": "9"},
                                           "signature": _exit.hex0x(sig)}}
    entry = {"pubkey": _exit.hex0x(v.pubkey).upper().replace("0X", "0x"), "share_index": 1, "epoch": EPOCH,
             "validator_index": 9, "partial_signature": _exit.hex0x(sig), "sent": True}
    assert _exit.normalize_partial(rec) == _exit.normalize_partial(entry)
    assert _exit.normalize_partial(dict(entry, partial_signature=None)) is None
    with pytest.raises(_exit.ExitError, match=r"partial_exits\[3\]: missing field 'share_index'"):
        _exit.normalize_partial({"pubkey": "0x" + "aa" * 48, "partial_signature": "0x" + "00" * 96}, "partial_exits[3]")


def _lookup_from(chain):
    calls = []

    def lookup(ids):
        calls.append(list(ids))
        return [e for e in chain if e["pubkey"] in ids or str(e["index"]) in ids]
    return lookup, calls


def test_select_all_by_pubkey_and_by_index(cluster):
    pks = [_exit.hex0x(v.pubkey) for v in cluster.validators]
    chain = [{"index": 10, "status": "active_ongoing", "pubkey": pks[0]},
             {"index": 11, "status": "active_exiting", "pubkey": pks[1]},
             {"index": 12, "status": "active_ongoing", "pubkey": "0x" + "ab" * 48}]
    lookup, calls = _lookup_from(chain)
    assert _exit.select_validators(pks, [], lookup) == [
        {"pubkey": pks[0], "validator_index": 10, "status": "active_ongoing"},
        {"pubkey": pks[1], "validator_index": 11, "status": "active_exiting"}]
    assert calls == [pks]
    assert [s["pubkey"] for s in _exit.select_validators(pks, ["11"], lookup)] == [pks[1]]
    assert [s["pubkey"] for s in _exit.select_validators(pks, [pks[1].upper()[2:], 10], lookup)] == pks
    with pytest.raises(_exit.ExitError, match=r"unknown validator 0xabab.*validators\[0\]"):
        _exit.select_validators(pks, ["0x" + "ab" * 48], lookup)
    with pytest.raises(_exit.ExitError, match="unknown validator index 12 .*not one of this cluster"):
        _exit.select_validators(pks, [12], lookup)
    with pytest.raises(_exit.ExitError, match="unknown validator index 99: the beacon node does not know it"):
        _exit.select_validators(pks, [99], lookup)
    with pytest.raises(_exit.ExitError, match=r"validators\[0\]: 'me' is neither"):
        _exit.select_validators(pks, ["me"], lookup)


def test_select_through_charon_aliases_and_not_found(cluster):
    pks = [_exit.hex0x(v.pubkey) for v in cluster.validators]
    share = _exit.hex0x(cluster.validators[0].public_shares[2])
    # charon's validator API answers with this node's public share instead of the DV key
    lookup, calls = _lookup_from([{"index": 3, "status": "pending_queued", "pubkey": share}])
    got = _exit.select_validators(pks, [], lookup, aliases={share: pks[0]})
    assert calls == [[share, pks[1]]]
    assert got == [{"pubkey": pks[0], "validator_index": 3, "status": "pending_queued"},
                   {"pubkey": pks[1], "validator_index": None, "status": _exit.NOT_FOUND}]
    with pytest.raises(_exit.ExitError, match="is not known to the beacon node"):
        _exit.select_validators(pks, [pks[1]], lookup, aliases={share: pks[0]})


def test_actions():
    assert _exit.action_for("active_ongoing") == "sign"
    for s in ("active_exiting", "exited_unslashed", "exited_slashed", "withdrawal_possible", "withdrawal_done",
              "active_slashed"):
        assert _exit.action_for(s) == "none"
    assert _exit.action_for("pending_queued") == "skip"
    assert _exit.action_for(_exit.NOT_FOUND) == "skip"


def test_share_index_of(cluster):
    v = cluster.validators[0]
    assert _exit.share_index_of(v.public_shares_list(), v.public_shares[3]) == 3
    assert _exit.share_index_of(v.public_shares_list(), cluster.validators[1].public_shares[3]) is None


def test_partials_from_a_native_dkg_cluster_combine():
    """Shares made by the DKG engineer's native ceremony (_dkg, in-process), not by a dealer."""
    import itertools
    from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _dkg, _enr, _k1
    n = 4
    keys = [_k1.generate_private_key() for _i in range(n)]
    d = _cluster.new_definition("exit-dkg", [_enr.node_record(k) for k in keys], 1, "0x" + "11" * 20, ["0x" + "22" * 20],
                                network="hoodi", dkg_algorithm=_dkg.ALGORITHM)
    params = _dkg.params_from_definition(d)
    st, msgs = [list(x) for x in zip(*[_dkg.round1(params, i + 1, keys[i]) for i in range(n)])]
    st, msgs = [list(x) for x in zip(*[_dkg.round2(params, st[i], msgs, keys[i]) for i in range(n)])]
    st, msgs = [list(x) for x in zip(*[_dkg.round3(params, st[i], msgs, keys[i], _dkg.lock_builder(d)) for i in range(n)])]
    results = [_dkg.finish(params, st[i], msgs) for i in range(n)]
    lock = _dkg.assemble_lock(d, results[0][0])
    dv = lock.distributed_validators[0]
    t = lock.definition.threshold
    capella, gvr = bytes.fromhex("40000910"), bytes(range(32))
    parts = []
    for k in range(n):
        sig = _exit.sign_partial(results[k][1][0], 256, 77, capella, gvr)
        assert _exit.verify_partial(dv.public_shares[k], 256, 77, capella, gvr, sig)
        parts.append(_exit.normalize_partial(_exit.partial_record(dv.distributed_public_key, k + 1, 256, 77, sig)))
    root = spec_signing_root(256, 77, capella, gvr)
    for subset in itertools.combinations(parts, t):
        sig, used, _present = _exit.combine(_exit.hex0x(dv.distributed_public_key), dv.public_shares, t, 256, 77,
                                            capella, gvr, list(subset))
        assert _bls.verify(bytes(dv.distributed_public_key), root, sig) and len(used) == t
    with pytest.raises(_exit.ExitError, match="1 missing"):
        _exit.combine(_exit.hex0x(dv.distributed_public_key), dv.public_shares, t, 256, 77, capella, gvr, parts[:t - 1])


def test_combined_exit_is_checked_against_the_validator_key(cluster):
    # Partials that each verify against validator 0's public shares, combined under validator 1's key:
    # the shares do not belong to that key, and combine must say so instead of returning a signature.
    v0, v1 = cluster.validators[0], cluster.validators[1]
    parts = _partials(v0, [1, 2, 3])
    with pytest.raises(_exit.ExitError, match="does not verify under the distributed public key"):
        _exit.combine(_exit.hex0x(v1.pubkey), v0.public_shares_list(), 3, EPOCH, 5, MAINNET_CAPELLA, MAINNET_GVR, parts)


def test_epoch_must_fit_uint64():
    assert _exit.check_epoch(0) == 0 and _exit.check_epoch(2 ** 64 - 1) == 2 ** 64 - 1
    for bad in (2 ** 64, 2 ** 70, -1, "x", True, None, 1.5j):
        with pytest.raises(_exit.ExitError, match="^epoch: "):
            _exit.check_epoch(bad)


def test_default_exit_epoch_is_charons():
    # charon v1.10.3 cmd/exit.go: --exit-epoch default 194048 on every network (also checked against
    # the real binary's --help in tests/integration/test_real_charon_exit.py).
    assert _exit.DEFAULT_EXIT_EPOCH == 194048


@pytest.mark.parametrize("name,epochs_after_genesis,epoch,warns", [
    ("hoodi", 1000, 1000 + 256, False),        # within the margin
    ("hoodi", 1000, 1000 + 257, True),         # just beyond
    ("hoodi", 140000, 194048, True),           # charon's default on hoodi in late 2026
    ("mainnet", 400000, 194048, False),        # charon's default on mainnet: long past
    ("gnosis", 1000, 1257, True),              # 16 slots of 5 s per epoch: the same margin in epochs
    ("gnosis", 1000, 1256, False),
])
def test_far_future_epoch_warning(name, epochs_after_genesis, epoch, warns):
    net = _networks.by_name(name)
    now = net.genesis_time + epochs_after_genesis * net.slot_seconds * net.slots_per_epoch + 1
    assert net.current_epoch(now) == epochs_after_genesis
    msg = _exit.future_epoch_warning(net, epoch, now)
    assert bool(msg) == warns
    if warns:
        assert ("epoch %d is %d epochs" % (epoch, epoch - epochs_after_genesis)) in msg and name in msg


def test_genesis_validators_root_is_pinned_per_known_network():
    hoodi = _networks.by_name("hoodi")
    pinned = "0x212f13fc4df078b6cb7db228f1c8307566dcecf900867401a92023d7ba99cb5f"
    assert _exit.check_genesis_validators_root(hoodi, pinned, "bn") == bytes.fromhex(pinned[2:])
    with pytest.raises(_exit.ExitError, match="wrong chain: the beacon node at bn reports genesis validators root 0x11"):
        _exit.check_genesis_validators_root(hoodi, "0x" + "11" * 32, "bn")
    # every built-in network pins one; a custom network takes the beacon node's
    assert all(n.genesis_validators_root and len(n.genesis_validators_root) == 32 for n in _networks.builtin_networks())
    custom = _networks.Network("devnet", 7, "0x10000999", "0x40000999", 1700000000)
    assert _exit.check_genesis_validators_root(custom, "0x" + "11" * 32, "bn") == b"\x11" * 32


def test_file_names_keep_partials_apart_from_what_charon_reads(cluster):
    pk = _exit.hex0x(cluster.validators[0].pubkey)
    assert _exit.full_exit_name(pk.upper().replace("0X", "0x")) == "exit-%s.json" % pk
    partial = _exit.partial_exit_name(pk, 3)
    assert partial == "partial-exit-%s-share-3.json" % pk
    assert not partial.startswith("exit-")  # charon exit broadcast --exit-from-dir reads every exit-* entry
