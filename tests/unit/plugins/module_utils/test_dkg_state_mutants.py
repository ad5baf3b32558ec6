# -*- coding: utf-8 -*-
"""More of _dkg's surviving mutants (issue 10), found by ``make mutation``: round state of another
definition, and a malformed hex field named with its operator."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _dkg, _enr, _k1
from ansible_collections.dvops.charon.plugins.module_utils import _dkg_crypto as tc


def _params(keys, name):
    d = _cluster.new_definition(name, [_enr.node_record(k) for k in keys], 1, "0x" + "11" * 20, "0x" + "22" * 20,
                                threshold=2, network="hoodi", dkg_algorithm=_dkg.ALGORITHM)
    return _dkg.params_from_definition(d)


@pytest.fixture(scope="module")
def two_definitions():
    keys = [_k1.generate_private_key() for dummy in range(2)]
    return keys, _params(keys, "one"), _params(keys, "two")


def test_round_state_of_another_definition_is_refused(two_definitions):
    keys, one, two = two_definitions
    r1 = [_dkg.round1(one, i + 1, keys[i]) for i in range(2)]
    msgs = [m for dummy, m in r1]
    # Same operators, same round, but the state was made for definition "one".
    with pytest.raises(_dkg.DKGError, match="no round-1 state for this definition on this host"):
        _dkg.round2(two, r1[0][0], msgs, keys[0])


def test_malformed_hex_field_names_the_operator(two_definitions):
    keys, one, two = two_definitions
    r1 = [_dkg.round1(one, i + 1, keys[i]) for i in range(2)]
    body = copy.deepcopy(r1[1][1]["body"])
    body["ephemeral_pubkey"] = "0xzz"
    msgs = [r1[0][1], tc.sign_message(keys[1], body)]
    with pytest.raises(_dkg.DKGError, match="operator 2: ephemeral_pubkey is not valid hex") as exc:
        _dkg.round2(one, r1[0][0], msgs, keys[0])
    assert exc.value.culprit == 2
