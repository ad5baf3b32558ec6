# -*- coding: utf-8 -*-
"""More of _dkg's surviving mutants (issue 10), found by ``make mutation``: definitions the native
engine must refuse, a lock builder returning a bad hash, and the degenerate results a coalition of
dealers could force (a zero key share, an identity group key), made here by choosing the dealers'
"random" coefficients."""

from __future__ import annotations

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _dkg, _enr, _k1
from ansible_collections.dvops.charon.plugins.module_utils import _dkg_crypto as tc

N = 3


@pytest.fixture(scope="module")
def keys():
    return [_k1.generate_private_key() for dummy in range(N)]


def _definition(keys, **kw):
    kw.setdefault("dkg_algorithm", _dkg.ALGORITHM)
    kw.setdefault("network", "hoodi")
    return _cluster.new_definition("params", [_enr.node_record(k) for k in keys], 1, "0x" + "11" * 20,
                                   "0x" + "22" * 20, **kw)


def test_definitions_the_native_engine_refuses(keys):
    with pytest.raises(_dkg.DKGError, match="v1.8\\+ locks; definition version v1.7.0 needs dvops_dkg_engine=charon"):
        _dkg.params_from_definition(_definition(keys, version="v1.7.0"))
    d = _definition(keys)
    d.operators[2].enr = d.operators[0].enr
    with pytest.raises(_dkg.DKGError, match="the definition lists the same ENR twice"):
        _dkg.params_from_definition(d)
    with pytest.raises(_dkg.DKGError, match="threshold 1 must satisfy"):
        _dkg.params_from_definition(_definition(keys, threshold=1))
    assert _dkg.params_from_definition(_definition(keys, version="v1.8.0"))["threshold"] == 2


def _dealt(monkeypatch, params, keys, coefficients):
    """Round 1 of every operator with its polynomial coefficients chosen: {operator: [a0, a1]}."""
    out = []
    for i in range(1, N + 1):
        queue = [c - 1 for c in coefficients[i]] + [12345]      # round1 adds 1; then the PoK nonce
        monkeypatch.setattr(_dkg.secrets, "randbelow", lambda bound, q=queue: q.pop(0))
        out.append(_dkg.round1(params, i, keys[i - 1]))
        monkeypatch.undo()
    return [s for s, dummy in out], [m for dummy, m in out]


def test_a_forced_zero_key_share_is_refused(monkeypatch, keys):
    params = _dkg.params_from_definition(_definition(keys))
    # Operator 1's summed share is f1(1) + f2(1) + f3(1) = sum of (a0 + a1): make it 0 mod R.
    coefficients = {1: [10, 20], 2: [30, 40], 3: [_dkg.R - 150, 50]}
    assert sum(sum(c) for c in coefficients.values()) % _dkg.R == 0
    st, msgs = _dealt(monkeypatch, params, keys, coefficients)
    with pytest.raises(_dkg.DKGError, match="key share of validator 0 is zero; restart the ceremony"):
        _dkg.round2(params, st[0], msgs, keys[0])


def test_a_forced_identity_group_key_is_refused(monkeypatch, keys):
    params = _dkg.params_from_definition(_definition(keys))
    coefficients = {1: [10, 20], 2: [30, 40], 3: [_dkg.R - 40, 50]}   # the a0 sum to 0: group key = identity
    st, msgs = _dealt(monkeypatch, params, keys, coefficients)
    with pytest.raises(_dkg.DKGError, match="validator 0's group key is the identity; restart the ceremony"):
        _dkg.round2(params, st[1], msgs, keys[1])


def test_lock_builder_must_return_a_32_byte_hash(keys):
    d = _definition(keys)
    params = _dkg.params_from_definition(d)
    r1 = [_dkg.round1(params, i + 1, keys[i]) for i in range(N)]
    m1 = [m for dummy, m in r1]
    r2 = [_dkg.round2(params, r1[i][0], m1, keys[i]) for i in range(N)]
    m2 = [m for dummy, m in r2]
    real = _dkg.lock_builder(d)

    def short(dvs):
        lock, lock_hash = real(dvs)
        return lock, lock_hash[:31]
    with pytest.raises(_dkg.DKGError, match="build_lock returned a lock hash of 31 bytes"):
        _dkg.round3(params, r2[0][0], m2, keys[0], short)
    assert tc.unhex(_dkg.round3(params, r2[0][0], m2, keys[0], real)[1]["body"]["lock_hash"], 32)
