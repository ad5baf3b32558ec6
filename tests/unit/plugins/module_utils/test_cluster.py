# -*- coding: utf-8 -*-
"""_cluster: parse/hash/write of every vector file and every version, creation API, format errors."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _cluster as C
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "..", ".."))
VDIR = os.path.join(os.path.dirname(REPO_ROOT), "shared", "vectors", "charon")
if not os.path.isdir(VDIR):  # a git worktree outside /work: the shared vectors stay there
    VDIR = "/work/shared/vectors/charon"
with open(os.path.join(VDIR, "expected.json")) as _f:
    EXPECTED = json.load(_f)["files"]


def _raw(name):
    with open(os.path.join(VDIR, name), "rb") as f:
        return f.read()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_vector_hashes(name):
    exp = EXPECTED[name]
    raw = _raw(name)
    assert hashlib.sha256(raw).hexdigest() == exp["sha256"]
    obj = C.load(raw, name)
    assert isinstance(obj, C.Lock if exp["kind"] == "lock" else C.Definition)
    d = obj.definition if isinstance(obj, C.Lock) else obj
    assert d.version == exp["version"]
    assert "0x" + d.fork_version.hex() == exp["fork_version"]
    assert d.network().name == exp["network"]
    assert "0x" + C.config_hash(d).hex() == exp["config_hash"]
    assert "0x" + C.definition_hash(d).hex() == exp["definition_hash"]
    # The stored hashes are the true ones.
    assert "0x" + d.config_hash.hex() == exp["config_hash"]
    assert "0x" + d.definition_hash.hex() == exp["definition_hash"]
    assert C.hashes(obj) == {k: exp[k] for k in ("config_hash", "definition_hash", "lock_hash")}
    if exp["lock_hash"]:
        assert "0x" + C.lock_hash(obj).hex() == exp["lock_hash"]
        assert "0x" + obj.lock_hash.hex() == exp["lock_hash"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_vector_write(name):
    raw = _raw(name)
    obj = C.load(raw, name)
    out = C.marshal_lock(obj) if isinstance(obj, C.Lock) else C.marshal_definition(obj)
    # Same JSON semantics always (hex re-cased to lowercase by ethHex) ...
    assert json.loads(out) == _lower_hex(json.loads(raw))
    # ... and byte-exact for charon's own Go-written test files (1-space indent, no newline).
    if b"\n \"" in raw[:4]:
        assert out == raw
    assert C.parse_lock(out) == obj if isinstance(obj, C.Lock) else C.parse_definition(out) == obj


def _lower_hex(v):
    if isinstance(v, dict):
        return {k: (x if k in ("address", "fee_recipient_address", "withdrawal_address") else _lower_hex(x))
                for k, x in v.items()}
    if isinstance(v, list):
        return [_lower_hex(x) for x in v]
    if isinstance(v, str) and v.startswith("0x"):
        return v.lower()
    return v


def test_v1_10_testdata_byte_exact():
    for name in ("cluster_definition_v1_10_0.json", "cluster_lock_v1_10_0.json"):
        raw = _raw(name)
        obj = C.load(raw)
        out = C.marshal_lock(obj) if isinstance(obj, C.Lock) else C.marshal_definition(obj)
        assert hashlib.sha256(out).hexdigest() == EXPECTED[name]["sha256"]


def test_reader_tolerates_whitespace_case_and_missing_0x():
    obj = json.loads(_raw("cluster_lock_v1_10_0.json"))
    dv = obj["distributed_validators"][0]
    dv["distributed_public_key"] = dv["distributed_public_key"].upper().replace("0X", "0x")
    dv["public_shares"][0] = dv["public_shares"][0][2:]
    obj["lock_hash"] = obj["lock_hash"].upper().replace("0X", "0x")
    text = json.dumps(obj, indent=7, separators=(" ,\n", " :\t"))
    lock = C.parse_lock(text)
    assert "0x" + C.lock_hash(lock).hex() == EXPECTED["cluster_lock_v1_10_0.json"]["lock_hash"]
    assert C.marshal_lock(lock) == _raw("cluster_lock_v1_10_0.json")


def test_go_json_escaping():
    assert C.go_json({"a": "<&>\u2028\u2029é", "b": [1, {"c": None}]}) == \
        b'{\n "a": "\\u003c\\u0026\\u003e\\u2028\\u2029\xc3\xa9",\n "b": [\n  1,\n  {\n   "c": null\n  }\n ]\n}'
    assert C.go_json([]) == b"[]"


@pytest.mark.parametrize("version", C.SUPPORTED_VERSIONS)
def test_every_version_round_trips(version):
    c = build_cluster(seed=b"rt" + version.encode(), n=4, num_validators=2, version=version,
                      network="goerli" if C.version_tuple(version)[1] < 8 else "hoodi")
    lock = c.lock
    raw = C.marshal_lock(lock)
    back = C.parse_lock(raw, "lock.json")
    assert back == lock
    assert C.lock_hash(back) == lock.lock_hash
    assert C.definition_hash(back.definition) == lock.definition.definition_hash
    assert C.marshal_lock(back) == raw
    rep = C.verify_lock(back)
    assert rep.valid, rep.errors
    top = list(json.loads(raw))
    assert top[:4] == ["cluster_definition", "distributed_validators", "signature_aggregate", "lock_hash"]
    assert ("node_signatures" in top) == (C.version_tuple(version)[1] >= 7)


def test_field_order_and_encodings_per_version():
    minor = {v: C.version_tuple(v)[1] for v in C.SUPPORTED_VERSIONS}
    for version in C.SUPPORTED_VERSIONS:
        m = minor[version]
        c = build_cluster(seed=b"fo", n=3, threshold=2, version=version, network="goerli")
        d = json.loads(C.marshal_definition(c.definition))
        keys = list(d)
        if m >= 4:
            assert keys[:3] == ["name", "creator", "operators"]
        else:
            assert keys[:2] == ["name", "operators"]
        if m >= 5:
            assert "validators" in keys and "fee_recipient_address" not in keys
        else:
            assert keys.index("fee_recipient_address") < keys.index("withdrawal_address") < keys.index("dkg_algorithm")
        tail = keys[keys.index("fork_version"):]
        want = ["fork_version"] + (["deposit_amounts"] if m >= 8 else []) + (["consensus_protocol"] if m >= 9 else []) \
            + (["target_gas_limit", "compounding"] if m >= 10 else []) + ["config_hash", "definition_hash"]
        assert tail == want
        op = d["operators"][0]
        assert list(op) == (["address", "enr", "nonce", "config_signature", "enr_signature"] if m <= 1 else
                            ["address", "enr", "config_signature", "enr_signature"])
        if m <= 1:
            base64.b64decode(d["config_hash"], validate=True)
            assert len(base64.b64decode(d["definition_hash"])) == 32
        else:
            assert d["config_hash"].startswith("0x") and d["config_hash"] == d["config_hash"].lower()
        lock = json.loads(C.marshal_lock(c.lock))
        dv = lock["distributed_validators"][0]
        exp_dv = {0: ["distributed_public_key", "public_shares"],
                  6: ["distributed_public_key", "public_shares", "deposit_data"],
                  7: ["distributed_public_key", "public_shares", "deposit_data", "builder_registration"],
                  8: ["distributed_public_key", "public_shares", "builder_registration", "partial_deposit_data"]}
        key = 8 if m >= 8 else (m if m in (6, 7) else 0)
        assert list(dv) == exp_dv[key]
        if m <= 1:
            assert len(base64.b64decode(dv["public_shares"][0])) == 48
            assert dv["distributed_public_key"].startswith("0x")


def test_creation_api_like_charon_create_dkg():
    enrs = build_cluster(seed=b"enrs", n=4, signed=False).enrs
    d = C.new_definition("my cluster", enrs, 2, "0x0D941218c10b055f0907FE1BbE486ccdAa7e332A",
                         ["0x52fdfc072182654f163f5f0f9a621d729566c74d", "0x81855ad8681d0d86d1e91e00167939cb6694d2c4"],
                         network="hoodi", deposit_amounts=[16 * 10 ** 9, 16 * 10 ** 9])
    assert d.version == "v1.10.0" and d.threshold == 3 and d.target_gas_limit == 60000000
    assert d.fork_version == bytes.fromhex("10000910") and d.dkg_algorithm == "default"
    assert d.uuid == d.uuid.upper() and len(d.uuid) == 36 and d.uuid[14] == "4"
    assert d.timestamp[10] == "T" and (d.timestamp.endswith("Z") or d.timestamp[-6] in "+-")
    assert all(op.unsigned for op in d.operators) and d.creator == C.Creator()
    assert d.validators[0].fee_recipient_address == d.validators[1].fee_recipient_address
    raw = C.marshal_definition(d)
    back = C.parse_definition(raw)
    assert back == d and C.config_hash(back) == d.config_hash and C.definition_hash(back) == d.definition_hash
    j = json.loads(raw)
    assert j["operators"][0] == {"address": "", "enr": enrs[0], "config_signature": "", "enr_signature": ""}
    assert j["creator"] == {"address": "", "config_signature": ""}
    assert j["deposit_amounts"] == ["16000000000", "16000000000"]
    assert C.verify_definition(back).valid
    # v1.11 and nil amounts
    d11 = C.new_definition("x", enrs, 1, d.validators[0].fee_recipient_address, d.validators[0].withdrawal_address,
                           network="sepolia", version="v1.11.0", uuid="0194FDC2-FA2F-4CC0-81D3-FF12045B73C8",
                           timestamp="2022-07-19T18:19:58+02:00")
    assert json.loads(C.marshal_definition(d11))["deposit_amounts"] is None
    assert C.parse_definition(C.marshal_definition(d11)) == d11
    with pytest.raises(C.ClusterFormatError, match="threshold"):
        C.new_definition("x", enrs, 1, "0x" + "11" * 20, "0x" + "22" * 20, threshold=5)
    with pytest.raises(C.ClusterFormatError, match="withdrawal_addresses"):
        C.new_definition("x", enrs, 3, "0x" + "11" * 20, ["0x" + "22" * 20] * 2)
    with pytest.raises(C.ClusterFormatError, match=r"validators\[0\].fee_recipient_address"):
        C.new_definition("x", enrs, 1, "0x1234", "0x" + "22" * 20)


def test_lock_from_parts_round_trips():
    c = build_cluster(seed=b"parts", n=4, num_validators=3, compounding=True)
    lock = C.new_lock(c.definition, c.lock.distributed_validators, c.lock.signature_aggregate,
                      c.lock.node_signatures)
    assert lock.lock_hash == c.lock.lock_hash
    assert C.parse_lock(C.marshal_lock(lock)) == lock
    assert [dd.amount for dd in lock.distributed_validators[0].partial_deposit_data] == \
        [10 ** 9, 8 * 10 ** 9, 32 * 10 ** 9, 256 * 10 ** 9]
    assert lock.distributed_validators[0].partial_deposit_data[0].withdrawal_credentials[:1] == b"\x02"
    reg = lock.distributed_validators[0].builder_registration
    assert (reg.gas_limit, reg.timestamp) == (60000000, 1742213400)


def test_hash_depends_on_version_specific_fields():
    c = build_cluster(seed=b"hd", version="v1.10.0", signed=False)
    d = c.definition
    base = C.config_hash(d)
    for field, value in (("target_gas_limit", 1), ("compounding", True), ("consensus_protocol", "qbft"),
                         ("deposit_amounts", [32 * 10 ** 9]), ("name", "other"), ("timestamp", "x"),
                         ("threshold", 2), ("dkg_algorithm", "frost")):
        d2 = copy.deepcopy(d)
        setattr(d2, field, value)
        assert C.config_hash(d2) != base, field
    # ENRs and signatures are not part of the config hash, but are of the definition hash.
    d2 = copy.deepcopy(d)
    d2.operators[0].enr = d2.operators[1].enr
    assert C.config_hash(d2) == base and C.definition_hash(d2) != C.definition_hash(d)
    # null and [] deposit amounts hash alike (empty list).
    d3 = copy.deepcopy(d)
    d3.deposit_amounts = []
    assert C.config_hash(d3) == base


def test_legacy_quirks():
    # v1.0: the timestamp is in the config hash only; v1.1 in both.
    for version, in_def in (("v1.0.0", False), ("v1.1.0", True)):
        d = build_cluster(seed=b"lq", version=version, network="goerli").definition
        d2 = copy.deepcopy(d)
        d2.timestamp = "2000-01-01T00:00:00Z"
        assert C.config_hash(d2) != C.config_hash(d)
        assert (C.definition_hash(d2, C.config_hash(d)) != C.definition_hash(d)) == in_def
    # v1.2 hashes the address *text*: case matters; v1.3+ decodes it: case does not.
    for version, sensitive in (("v1.2.0", True), ("v1.3.0", False), ("v1.10.0", False)):
        d = build_cluster(seed=b"lq2", version=version, network="goerli").definition
        d2 = copy.deepcopy(d)
        d2.validators = [C.ValidatorAddresses(v.fee_recipient_address.lower(), v.withdrawal_address)
                         for v in d2.validators]
        d2.validators[0].fee_recipient_address = d.validators[0].fee_recipient_address.swapcase().replace("0X", "0x")
        d2.validators = [d2.validators[0]] * len(d2.validators)
        assert (C.config_hash(d2) != C.config_hash(d)) == sensitive, version
    # v1.3/v1.4: an empty value vanishes, v1.5+: zero-filled; both hash but differently from a zero address.
    for version in ("v1.3.0", "v1.4.0", "v1.5.0"):
        d = build_cluster(seed=b"lq3", version=version, network="goerli", signed=False).definition
        d2 = copy.deepcopy(d)
        d2.operators[0].address = "0x" + "00" * 20
        differs = C.definition_hash(d2) != C.definition_hash(d)
        assert differs == (version != "v1.5.0"), version


def _mutate(name, fn):
    obj = json.loads(_raw(name))
    fn(obj)
    return json.dumps(obj)


FORMAT_ERRORS = [
    (b"", None, "not valid JSON"),
    (b"\xff\xfe", None, "not UTF-8"),
    (b"[1, 2]", None, "top level"),
    (_raw("cluster_lock_v1_10_0.json")[:-200], None, "truncated"),
    (_mutate("cluster-definition-006.json", lambda o: o.update(version="v1.12.0")), "version",
     "unsupported definition version"),
    (_mutate("cluster-definition-006.json", lambda o: o.pop("version")), "version", "missing"),
    (_mutate("cluster-definition-006.json", lambda o: o.pop("operators")), "operators", "missing"),
    (_mutate("cluster-definition-006.json", lambda o: o.update(num_validators="2")), "num_validators", "integer"),
    (_mutate("cluster-definition-006.json", lambda o: o.update(fork_version="0x1000")), "fork_version",
     "wrong length"),
    (_mutate("cluster-definition-006.json", lambda o: o["validators"].pop()), "validators", "num_validators"),
    (_mutate("cluster-definition-006.json", lambda o: o["validators"][1].update(withdrawal_address="0x12")),
     "validators[1].withdrawal_address", "20 bytes"),
    (_mutate("cluster-definition-006.json", lambda o: o.update(deposit_amounts=["1e9"])), "deposit_amounts[0]",
     "decimal"),
    (_mutate("cluster-lock-003.json", lambda o: o["cluster_definition"]["operators"][2].update(
        config_signature="0x" + "ab" * 66)), "cluster_definition.operators[2].config_signature", "wrong length"),
    (_mutate("cluster-lock-003.json", lambda o: o["distributed_validators"][1].update(
        distributed_public_key="0x" + "ab" * 49)), "distributed_validators[1].distributed_public_key",
     "wrong length"),
    (_mutate("cluster-lock-003.json", lambda o: o["distributed_validators"][1]["public_shares"].__setitem__(
        0, "0xzz")), "distributed_validators[1].public_shares[0]", "not valid hex"),
    (_mutate("cluster-lock-003.json", lambda o: o["distributed_validators"][0]["builder_registration"][
        "message"].update(fee_recipient="0x1234")),
     "distributed_validators[0].builder_registration.message.fee_recipient", "wrong length"),
    (_mutate("cluster-lock-003.json", lambda o: o.pop("distributed_validators")), "distributed_validators",
     "missing"),
    (_mutate("cluster-lock-003.json", lambda o: o.pop("lock_hash")), "lock_hash", "missing"),
    (_mutate("cluster_lock_v1_10_0.json", lambda o: o["distributed_validators"][0]["partial_deposit_data"][0].update(
        amount="-1")), "distributed_validators[0].partial_deposit_data[0].amount", "uint64"),
    (_mutate("cluster_lock_v1_10_0.json", lambda o: o.update(distributed_validators={})), "distributed_validators",
     "array"),
]


@pytest.mark.parametrize("data,field,msg", FORMAT_ERRORS, ids=[str(e[1]) + ":" + e[2] for e in FORMAT_ERRORS])
def test_format_errors(data, field, msg):
    with pytest.raises(C.ClusterFormatError, match=msg) as info:
        C.load(data, "the-file.json")
    assert info.value.field == field
    assert info.value.source == "the-file.json"
    assert "the-file.json" in str(info.value)


def test_legacy_base64_errors_and_load_file(tmp_path):
    c = build_cluster(seed=b"b64", version="v1.1.0", network="goerli")
    obj = json.loads(C.marshal_lock(c.lock))
    obj["lock_hash"] = "not base64!"
    with pytest.raises(C.ClusterFormatError, match="base64") as info:
        C.parse_lock(json.dumps(obj))
    assert info.value.field == "lock_hash"
    obj = json.loads(C.marshal_lock(c.lock))
    obj["cluster_definition"]["operators"][0]["nonce"] = 3
    with pytest.raises(C.ClusterFormatError, match="must be 0"):
        C.parse_lock(json.dumps(obj))
    with pytest.raises(C.ClusterFormatError, match="cannot read") as info:
        C.load_file(str(tmp_path / "missing.json"))
    assert info.value.source.endswith("missing.json")
