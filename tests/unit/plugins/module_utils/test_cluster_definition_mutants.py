# -*- coding: utf-8 -*-
"""_cluster survivors of the full mutation run over main after the hardening merge (issue 10):
``verify_definition`` itself (not only its parts) checks the hashes and, by default, the ENRs; the
deposit-amount rule applies from v1.8 on; 32 ETH is the bound unless compounding is asked for."""

from __future__ import annotations

from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _enr, _k1

GWEI = 10 ** 9


def _definition(**kw):
    keys = [_k1.generate_private_key() for dummy in range(3)]
    return _cluster.new_definition("def-mutants", [_enr.node_record(k) for k in keys], 1, "0x" + "11" * 20,
                                   "0x" + "22" * 20, network="hoodi", **kw)


def test_verify_definition_checks_the_hashes():
    d = _definition()
    assert _cluster.verify_definition(d, verify_signatures=False).valid
    d.name = "renamed after hashing"
    report = _cluster.verify_definition(d, verify_signatures=False)
    assert not report.valid and not report.checks["config_hash"]


def test_verify_definition_checks_the_enrs_by_default():
    d = _definition()
    d.operators[2].enr = d.operators[0].enr   # the same peer twice (hashes recomputed: only the ENR rule breaks)
    d = _cluster.parse_definition(_cluster.marshal_definition(d).decode(), "test")
    assert _cluster.verify_definition(d, verify_signatures=False, check_enrs=False).valid
    report = _cluster.verify_definition(d, verify_signatures=False)
    assert not report.valid and not report.checks["operator_enrs"]


def test_deposit_amount_rule_applies_from_v1_8():
    for version, applies in (("v1.7.0", False), ("v1.8.0", True)):
        d = _definition(version=version)
        d.deposit_amounts = [GWEI]   # 1 ETH in total: below the 32 ETH a validator needs
        report = _cluster.Report()
        _cluster._definition_rules(d, report)  # pylint: disable=protected-access
        assert report.checks["deposit_amounts"] is (not applies), version


def test_32_eth_is_the_bound_unless_compounding():
    assert _cluster.deposit_amount_problems([64 * GWEI])
    assert not _cluster.deposit_amount_problems([64 * GWEI], compounding=True)
