# -*- coding: utf-8 -*-
"""_dkg.params_from_definition names what it cannot use (issue 10, mutation run 3): a validator's
withdrawal or fee recipient address that is not hex, an invalid operator ENR, and a fork version of
no known network.  The definitions are built by the real _cluster.new_definition, then one field is
damaged, as a hand-edited file would be."""

from __future__ import annotations

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _dkg, _enr, _k1

N = 3


@pytest.fixture(scope="module")
def keys():
    return [_k1.generate_private_key() for dummy in range(N)]


def _definition(keys):
    return _cluster.new_definition("params", [_enr.node_record(k) for k in keys], 2, "0x" + "11" * 20,
                                   "0x" + "22" * 20, dkg_algorithm=_dkg.ALGORITHM, network="hoodi")


def test_a_valid_definition_gives_its_parameters(keys):
    p = _dkg.params_from_definition(_definition(keys))
    assert p["fee_recipients"] == [b"\x11" * 20] * 2
    assert [w[12:] for w in p["withdrawal_credentials"]] == [b"\x22" * 20] * 2
    assert p["fork_version"] == bytes.fromhex("10000910")
    assert p["operators"] == [_k1.public_key(k) for k in keys]


@pytest.mark.parametrize("field", ["withdrawal_address", "fee_recipient_address"])
def test_an_address_that_is_not_hex_is_named_with_its_validator(keys, field):
    d = _definition(keys)
    setattr(d.validators[1], field, "0x" + "zz" * 20)
    with pytest.raises(_dkg.DKGError, match=r"\Avalidators\[1\]: invalid address: "):
        _dkg.params_from_definition(d)


def test_an_operator_enr_that_is_not_an_enr_is_named(keys):
    d = _definition(keys)
    d.operators[1].enr = "enr:-not-a-record"
    with pytest.raises(_dkg.DKGError, match=r"\Aoperators\[1\]\.enr is not a valid ENR: "):
        _dkg.params_from_definition(d)


def test_a_fork_version_of_no_known_network_is_named(keys):
    d = _definition(keys)
    d.fork_version = bytes.fromhex("deadbeef")
    with pytest.raises(_dkg.DKGError, match=r"\Acannot find the network of fork_version 0xdeadbeef: "):
        _dkg.params_from_definition(d)
