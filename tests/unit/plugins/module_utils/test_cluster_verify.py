# -*- coding: utf-8 -*-
"""_cluster verification: lock-003 verifies with every signature valid; each tampered field group fails its check."""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _cluster as C
from ansible_collections.dvops.charon.plugins.module_utils import _k1
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "..", ".."))
VDIR = os.path.join(os.path.dirname(REPO_ROOT), "shared", "vectors", "charon")
if not os.path.isdir(VDIR):  # a git worktree outside /work: the shared vectors stay there
    VDIR = "/work/shared/vectors/charon"
with open(os.path.join(VDIR, "cluster-lock-003.json")) as _f:
    LOCK003 = json.load(_f)

ALL_CHECKS = ["config_hash", "definition_hash", "deposit_amounts", "threshold", "operator_enrs", "num_validators",
              "lock_hash", "operator_signatures", "creator_signature", "public_shares", "signature_aggregate",
              "node_signatures", "builder_registrations", "deposit_data"]


def _failed(report):
    return {k for k, v in report.checks.items() if not v}


def _flip(hex_text, pos=10):
    raw = bytearray(bytes.fromhex(hex_text[2:]))
    raw[pos] ^= 0x01
    return "0x" + raw.hex()


def test_lock003_all_valid():
    rep = C.verify_lock(C.parse_lock(json.dumps(LOCK003)))
    assert list(rep.checks) == ALL_CHECKS
    assert rep.valid and rep.errors == []
    # Without signatures only the structural checks run (deposit placeholder still accepted).
    rep = C.verify_lock(C.parse_lock(json.dumps(LOCK003)), verify_signatures=False)
    assert set(rep.checks) == {"config_hash", "definition_hash", "deposit_amounts", "threshold", "operator_enrs",
                               "num_validators", "lock_hash", "deposit_data"}
    assert rep.valid


def _set(path, value):
    def apply(o):
        node = o
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value(node[path[-1]]) if callable(value) else value
    return apply


DEF = "cluster_definition"
OP0 = LOCK003[DEF]["operators"][0]
OP1 = LOCK003[DEF]["operators"][1]
DV = "distributed_validators"
TAMPER = [
    # definition fields: config and definition hashes (and the lock hash built on them)
    ("definition.name", _set([DEF, "name"], "renamed"), {"config_hash", "definition_hash", "lock_hash"}),
    ("definition.timestamp", _set([DEF, "timestamp"], "2023-07-25T10:00:44+02:00"),
     {"config_hash", "definition_hash", "lock_hash"}),
    ("definition.withdrawal", _set([DEF, "validators", 1, "withdrawal_address"], "0x" + "11" * 20),
     {"config_hash", "definition_hash", "lock_hash"}),
    # charon hashes the definition over the stored config hash, so both other hashes change too.
    ("definition.stored_config_hash", _set([DEF, "config_hash"], _flip),
     {"config_hash", "definition_hash", "lock_hash", "operator_signatures", "creator_signature"}),
    ("definition.stored_definition_hash", _set([DEF, "definition_hash"], _flip), {"definition_hash"}),
    # operator ENR / signatures
    ("operator.enr", _set([DEF, "operators", 0, "enr"], OP1["enr"]),
     {"definition_hash", "lock_hash", "operator_enrs", "operator_signatures", "node_signatures"}),
    ("operator.address", _set([DEF, "operators", 0, "address"], OP1["address"]),
     {"config_hash", "definition_hash", "lock_hash", "operator_signatures"}),
    ("operator.config_signature", _set([DEF, "operators", 2, "config_signature"], _flip),
     {"definition_hash", "lock_hash", "operator_signatures"}),
    ("operator.enr_signature", _set([DEF, "operators", 3, "enr_signature"], OP0["enr_signature"]),
     {"definition_hash", "lock_hash", "operator_signatures"}),
    # creator
    ("creator.config_signature", _set([DEF, "creator", "config_signature"], OP0["config_signature"]),
     {"definition_hash", "lock_hash", "creator_signature"}),
    # DV key, a public share
    ("dv.pubkey", _set([DV, 0, "distributed_public_key"], LOCK003[DV][1]["distributed_public_key"]),
     {"lock_hash", "public_shares", "builder_registrations"}),
    ("dv.public_share", _set([DV, 2, "public_shares", 3], LOCK003[DV][1]["public_shares"][3]),
     {"lock_hash", "public_shares", "signature_aggregate"}),
    # builder registration message / signature
    ("registration.gas_limit", _set([DV, 1, "builder_registration", "message", "gas_limit"], 30000001),
     {"lock_hash", "builder_registrations"}),
    ("registration.timestamp", _set([DV, 1, "builder_registration", "message", "timestamp"], 1616508001),
     {"lock_hash", "builder_registrations"}),
    ("registration.fee_recipient", _set([DV, 1, "builder_registration", "message", "fee_recipient"], "0x" + "22" * 20),
     {"lock_hash", "builder_registrations"}),
    ("registration.signature", _set([DV, 0, "builder_registration", "signature"],
                                    LOCK003[DV][1]["builder_registration"]["signature"]),
     {"lock_hash", "builder_registrations"}),
    # deposit data (a non-placeholder that is not signed)
    ("deposit_data", _set([DV, 0, "deposit_data"], {
        "pubkey": LOCK003[DV][0]["distributed_public_key"], "withdrawal_credentials": "0x01" + "00" * 11 + "c1e86413d6a1de"
        "884e91a54345fe302ef0c398ee", "amount": "32000000000",
        "signature": LOCK003[DV][0]["builder_registration"]["signature"]}), {"lock_hash", "deposit_data"}),
    # aggregate, node signatures, lock hash
    ("signature_aggregate", _set(["signature_aggregate"], LOCK003[DV][0]["builder_registration"]["signature"]),
     {"signature_aggregate"}),
    ("node_signatures.swap", _set(["node_signatures"], lambda s: [s[1], s[0]] + s[2:]), {"node_signatures"}),
    ("node_signatures.flip", _set(["node_signatures"], lambda s: s[:3] + [_flip(s[3], 5)]), {"node_signatures"}),
    ("node_signatures.missing", _set(["node_signatures"], lambda s: s[:3]), {"node_signatures"}),
    ("lock_hash", _set(["lock_hash"], _flip), {"lock_hash", "signature_aggregate", "node_signatures"}),
    ("num_validators", lambda o: o[DV].pop(), {"num_validators", "lock_hash", "signature_aggregate"}),
]


@pytest.mark.parametrize("name,mutate,expected", TAMPER, ids=[t[0] for t in TAMPER])
def test_lock003_tampering(name, mutate, expected):
    obj = copy.deepcopy(LOCK003)
    mutate(obj)
    rep = C.verify_lock(C.parse_lock(json.dumps(obj)))
    assert _failed(rep) == expected, (name, rep.errors)
    assert not rep.valid
    assert rep.errors and all(e.split(":")[0] in expected for e in rep.errors)


# Factory-built v1.10 locks: partial deposit data, v1.10/v1.11 signature rules ---------------------

@pytest.fixture(scope="module")
def signed():
    return build_cluster(seed=b"verify", n=4, num_validators=2)


def _verify(lock):
    return C.verify_lock(C.parse_lock(C.marshal_lock(lock, rehash=False)))


def test_factory_lock_valid(signed):
    rep = _verify(signed.lock)
    assert rep.valid, rep.errors
    assert list(rep.checks) == ALL_CHECKS


@pytest.mark.parametrize("field,value,check", [
    ("amount", 2 * 10 ** 9, "deposit_data"),
    ("signature", None, "deposit_data"),
    ("withdrawal_credentials", b"\x02" + bytes(11) + bytes(20), "deposit_data"),
    ("pubkey", None, "deposit_data"),
])
def test_partial_deposit_tampering(signed, field, value, check):
    lock = copy.deepcopy(signed.lock)
    dd = lock.distributed_validators[1].partial_deposit_data[0]
    if value is None:
        other = lock.distributed_validators[0].partial_deposit_data[0]
        value = getattr(other, field)
    setattr(dd, field, value)
    C.fill_lock_hash(lock)     # re-hash: only the deposit check may notice
    rep = C.verify_lock(lock)
    assert _failed(rep) == {"signature_aggregate", "node_signatures", check}, rep.errors
    assert any("partial_deposit_data[0]" in e for e in rep.errors)


def test_deposit_amount_rules(signed):
    c = build_cluster(seed=b"amounts", n=3, deposit_amounts=[8 * 10 ** 9, 24 * 10 ** 9, 24 * 10 ** 9])
    assert [dd.amount for dd in c.lock.distributed_validators[0].partial_deposit_data] == [8 * 10 ** 9, 24 * 10 ** 9]
    assert C.verify_lock(c.lock).valid
    lock = copy.deepcopy(c.lock)
    lock.distributed_validators[0].partial_deposit_data.pop()
    rep = C.verify_lock(lock)
    assert not rep.checks["deposit_data"] and not rep.checks["lock_hash"]
    assert "differ from the definition's deposit_amounts" in " ".join(rep.errors)
    d = copy.deepcopy(signed.definition)
    for amounts, ok in (([], True), (None, True), ([32 * 10 ** 9], True), ([16 * 10 ** 9] * 2, True),
                        ([16 * 10 ** 9], False), ([10 ** 9 - 1, 32 * 10 ** 9], False), ([33 * 10 ** 9], False)):
        d.deposit_amounts = amounts
        assert C.verify_definition(d, verify_signatures=False).checks["deposit_amounts"] == ok, amounts
    d.compounding, d.deposit_amounts = True, [2048 * 10 ** 9]
    assert C.verify_definition(d, verify_signatures=False).checks["deposit_amounts"]


def test_share_consistency_failures(signed):
    lock = copy.deepcopy(signed.lock)
    shares = lock.distributed_validators[1].public_shares
    shares[3] = lock.distributed_validators[0].public_shares[3]   # the extra share (x=4 > t=3)
    rep = C.verify_lock(lock)
    assert not rep.checks["public_shares"]
    assert any("distributed_validators[1]" in e and "x=1,2,4" in e for e in rep.errors)
    lock = copy.deepcopy(signed.lock)
    lock.distributed_validators[0].public_shares[1] = lock.distributed_validators[0].public_shares[0]
    assert "duplicate public shares" in " ".join(C.verify_lock(lock).errors)
    lock = copy.deepcopy(signed.lock)
    lock.distributed_validators[0].public_shares.pop()
    assert "3 public_shares for 4 operators" in " ".join(C.verify_lock(lock).errors)
    lock = copy.deepcopy(signed.lock)
    lock.distributed_validators[1] = copy.deepcopy(lock.distributed_validators[0])
    assert "duplicate distributed_public_key" in " ".join(C.verify_lock(lock).errors)
    lock = copy.deepcopy(signed.lock)
    lock.distributed_validators[0].public_shares[2] = b"\x01" * 48
    assert "public_shares[2]: not a valid BLS12-381 G1 point" in " ".join(C.verify_lock(lock).errors)


def test_unsigned_rules():
    c = build_cluster(seed=b"unsigned", n=4, signed=False)
    assert C.verify_lock(c.lock).valid
    d = copy.deepcopy(build_cluster(seed=b"mixed", n=4).definition)
    d.operators[2].address, d.operators[2].config_signature, d.operators[2].enr_signature = "", b"", b""
    C.fill_definition_hashes(d)
    rep = C.verify_definition(d)
    assert not rep.checks["operator_signatures"] and "unsigned: 2" in " ".join(rep.errors)
    d = copy.deepcopy(build_cluster(seed=b"mixed", n=4).definition)
    d.creator = C.Creator()
    C.fill_definition_hashes(d)
    rep = C.verify_definition(d)
    assert _failed(rep) == {"creator_signature", "operator_signatures"}   # config hash changed under the sigs
    assert "empty creator is only allowed" in " ".join(rep.errors)
    d = copy.deepcopy(build_cluster(seed=b"mixed", n=4).definition)
    d.operators[1].enr_signature = b""
    assert "needs both" in " ".join(C.verify_definition(d).errors)


def test_v1_11_signature_lists_and_legacy_signatures():
    c = build_cluster(seed=b"v111", n=3, version="v1.11.0")
    assert C.verify_lock(c.lock).valid
    d = copy.deepcopy(c.definition)
    d.operators[0].config_signature = d.operators[0].config_signature * 2
    C.fill_definition_hashes(d)
    assert "ERC-1271" in " ".join(C.verify_definition(d).errors)
    d.operators[0].config_signature = d.operators[0].config_signature[:-1]
    with pytest.raises(C.ClusterFormatError, match="multiple of 65"):
        C.fill_definition_hashes(d)
    d = copy.deepcopy(build_cluster(seed=b"v12", n=3, version="v1.2.0", network="goerli").definition)
    d.operators[0].config_signature = b"\x01" * 65
    rep = C.verify_definition(d)
    assert "cannot carry operator signatures" in " ".join(rep.errors)
    d = copy.deepcopy(build_cluster(seed=b"v110", n=3, version="v1.10.0").definition)
    d.operators[0].config_signature = d.operators[0].config_signature[:64]
    C.fill_definition_hashes(d)
    assert "65 bytes, got 64" in " ".join(C.verify_definition(d).errors)


def test_node_signatures_version_rules():
    c = build_cluster(seed=b"ns", n=3, version="v1.6.0", network="goerli")
    lock = copy.deepcopy(c.lock)
    assert C.verify_lock(lock).valid
    lock.node_signatures = [_k1.sign(k, lock.lock_hash) for k in c.enr_keys]
    assert "must be empty before v1.7" in " ".join(C.verify_lock(lock).errors)
    # Also when they come from the file, with a builder registration that v1.6 does not have.
    obj = json.loads(C.marshal_lock(c.lock))
    obj["node_signatures"] = ["0x" + s.hex() for s in lock.node_signatures]
    obj["distributed_validators"][0]["builder_registration"] = {"message": {}, "signature": ""}
    rep = C.verify_lock(C.parse_lock(json.dumps(obj)))
    assert {k for k, v in rep.checks.items() if not v} == {"node_signatures", "builder_registrations"}
    assert "builder registrations must be absent before v1.7" in rep.errors[-1]


def test_unknown_network_is_a_clear_failure():
    c = build_cluster(seed=b"net", n=3)
    d = copy.deepcopy(c.definition)
    d.fork_version = bytes.fromhex("12345678")
    C.fill_definition_hashes(d)
    rep = C.verify_definition(d)
    assert "unknown fork version 0x12345678" in " ".join(rep.errors)


def test_points_outside_the_subgroup_are_rejected():
    # A point on the curve but not in the r-order subgroup must not pass as a public share.
    p = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab
    x = 1
    while pow((x ** 3 + 4) % p, (p - 1) // 2, p) != 1:
        x += 1
    raw = bytearray(x.to_bytes(48, "big"))
    raw[0] |= 0x80
    bls = C._Bls()  # pylint: disable=protected-access
    assert bls.g1(bytes(raw)) is None
    assert bls.g1(bytes([0xc0]) + bytes(47)) is None          # the identity is not a key
    assert bls.g2(bytes(96)) is None
