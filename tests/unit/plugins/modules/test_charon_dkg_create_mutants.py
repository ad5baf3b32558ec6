# -*- coding: utf-8 -*-
"""charon_dkg phase definition: the C(create) type and range checks and the deposit amounts, as the
inventory variables they come from (issue 10, mutation run 3).  Each case asserts what the operator
sees: the created definition's values, or the named refusal."""

from __future__ import annotations

import json

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _enr, _k1
from ansible_collections.dvops.charon.tests.unit.plugins.modules.test_charon_dkg import run0

ENRS = [_enr.node_record(_k1.generate_private_key()) for _index in range(3)]


def _define(capsys, tmp_path, **over):
    create = {"name": "unit", "operator_enrs": list(ENRS), "num_validators": 1, "network": "hoodi",
              "fee_recipient_addresses": "0x" + "11" * 20, "withdrawal_addresses": "0x" + "22" * 20}
    create.update(over)
    return run0(capsys, phase="definition", data_dir=str(tmp_path / "d"), create=create)


def _made(res):
    assert not res.get("failed"), res
    return json.loads(res["definition"])


def test_templated_numbers_and_booleans_as_text_are_taken(tmp_path, capsys):
    d = _made(_define(capsys, tmp_path, num_validators=" 2 ", threshold="3", compounding="Yes",
                      withdrawal_addresses="0x" + "22" * 20))
    assert len(d["validators"]) == 2 and d["threshold"] == 3 and d["compounding"] is True
    d = _made(_define(capsys, tmp_path, compounding=" no "))
    assert d["compounding"] is False


@pytest.mark.parametrize("key,value,msg", [
    ("name", 5, "dvops_cluster_name (create.name): expected a text, got int 5"),
    ("num_validators", True, "dvops_num_validators (create.num_validators): expected a whole number, got bool True"),
    ("num_validators", "two", "dvops_num_validators (create.num_validators): expected a whole number, got str 'two'"),
    ("compounding", "maybe", "dvops_compounding (create.compounding): expected true or false, got str 'maybe'"),
    ("fee_recipient_addresses", 7,
     "dvops_fee_recipient_address(es) (create.fee_recipient_addresses): expected a text or a list, got int 7"),
    ("operator_enrs", ENRS[:2] + [3], "the hosts' ENRs (create.operator_enrs): every entry must be a string"),
    ("num_validators", -1, "dvops_num_validators (create.num_validators): -1 is out of range"),
    ("target_gas_limit", 1 << 64, "dvops_target_gas_limit (create.target_gas_limit): %d is out of range" % (1 << 64)),
])
def test_wrong_create_values_are_named_as_the_inventory_variable(tmp_path, capsys, key, value, msg):
    res = _define(capsys, tmp_path, **{key: value})
    assert res["failed"] and res["msg"] == msg, res


def test_range_edges_are_accepted(tmp_path, capsys):
    # 2^64 - 1 is the largest uint64: in range.  0 is in range too and then gets the threshold rule's message.
    d = _made(_define(capsys, tmp_path, target_gas_limit=(1 << 64) - 1))
    assert d["target_gas_limit"] == (1 << 64) - 1
    res = _define(capsys, tmp_path, threshold=0)
    assert res["failed"] and res["msg"] == "dvops_threshold 0 must be between 2 and the number of operators (3)"
    res = _define(capsys, tmp_path, threshold=4)
    assert res["failed"] and res["msg"] == "dvops_threshold 4 must be between 2 and the number of operators (3)"
    d = _made(_define(capsys, tmp_path, threshold=2))
    assert d["threshold"] == 2
    d = _made(_define(capsys, tmp_path, threshold=3))
    assert d["threshold"] == 3


def test_deposit_amounts_in_eth_and_in_gwei(tmp_path, capsys):
    d = _made(_define(capsys, tmp_path, deposit_amounts_eth=[1, 31]))
    assert [int(a) for a in d["deposit_amounts"]] == [1000000000, 31000000000]
    d = _made(_define(capsys, tmp_path, deposit_amounts=[1000000000, "31000000000"]))
    assert [int(a) for a in d["deposit_amounts"]] == [1000000000, 31000000000]
    # deposit_amounts wins over deposit_amounts_eth when both are given; an empty list means "not given".
    d = _made(_define(capsys, tmp_path, deposit_amounts=[32000000000], deposit_amounts_eth=[1, 31]))
    assert [int(a) for a in d["deposit_amounts"]] == [32000000000]
    d = _made(_define(capsys, tmp_path, deposit_amounts=[], deposit_amounts_eth=[32]))
    assert [int(a) for a in d["deposit_amounts"]] == [32000000000]


@pytest.mark.parametrize("key,value,msg", [
    ("deposit_amounts", "32000000000",
     "create.deposit_amounts: '32000000000' is not a list of Gwei amounts (dvops_deposit_amounts: whole ETH, e.g. [32])"),
    ("deposit_amounts", ["1.5"],
     "create.deposit_amounts: ['1.5'] is not a list of Gwei amounts (dvops_deposit_amounts: whole ETH, e.g. [32])"),
    ("deposit_amounts_eth", 32,
     "create.deposit_amounts_eth: 32 is not a list of ETH amounts (dvops_deposit_amounts: whole ETH, e.g. [32])"),
    ("deposit_amounts_eth", [float("inf")],
     "create.deposit_amounts_eth: [inf] is not a list of ETH amounts (dvops_deposit_amounts: whole ETH, e.g. [32])"),
    ("deposit_amounts", [0],
     "create.deposit_amounts: [0]: every amount must be positive (and below 2^64 Gwei) (dvops_deposit_amounts)"),
    ("deposit_amounts", [32000000000, -1],
     "create.deposit_amounts: [32000000000, -1]: every amount must be positive (and below 2^64 Gwei) "
     "(dvops_deposit_amounts)"),
    ("deposit_amounts", [1 << 64],
     "create.deposit_amounts: [%d]: every amount must be positive (and below 2^64 Gwei) (dvops_deposit_amounts)"
     % (1 << 64)),
])
def test_bad_deposit_amounts_are_named(tmp_path, capsys, key, value, msg):
    res = _define(capsys, tmp_path, **{key: value})
    assert res["failed"] and res["msg"] == msg, res
