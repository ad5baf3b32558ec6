# -*- coding: utf-8 -*-
"""More of _dkg's surviving mutants (issue 10), from the full mutation run over main after the
hardening merge: round-1 messages of the wrong shape are a named refusal (never a traceback, never
silently truncated), and the batched proof-of-knowledge check needs its random weights."""

from __future__ import annotations

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _dkg
# Module-scoped fixtures of the main DKG mutant tests (a 3-operator, 2-validator ceremony).
from ansible_collections.dvops.charon.tests.unit.plugins.module_utils.test_dkg_mutants import (  # noqa: F401
    _resigned, cluster, round1)


@pytest.mark.parametrize("field", ["commitments", "pok"])
@pytest.mark.parametrize("shape", ["object", "one more", "one less"])
def test_round1_lists_of_the_wrong_shape_are_refused(cluster, round1, field, shape):
    keys, d, params = cluster
    st, msgs = round1

    def change(body):
        items = body[field]
        # an object with as many keys as validators; a list with an extra entry; a short list
        body[field] = {"object": lambda: dict((str(k), x) for k, x in enumerate(items)),
                       "one more": lambda: items + [items[0]],
                       "one less": lambda: items[:-1]}[shape]()
    with pytest.raises(_dkg.DKGError, match="operator 2 sent commitments/proofs for the wrong number") as exc:
        _dkg.round2(params, st[0], _resigned(keys, msgs, 2, change), keys[0])
    assert exc.value.culprit == 2


def test_proofs_whose_errors_cancel_out_are_refused(cluster, round1):
    """Operator 3 moves part of one proof's response into the other's: each proof is now invalid, but
    the plain sum of the two equations is unchanged, so only the random batch weights notice."""
    keys, d, params = cluster
    st, msgs = round1
    delta = 123456789

    def shift(body):
        out = []
        for v, sign in ((0, 1), (1, -1)):
            pok = bytes.fromhex(body["pok"][v][2:])
            mu = (int.from_bytes(pok[48:], "big") + sign * delta) % _dkg.R
            out.append("0x" + (pok[:48] + mu.to_bytes(32, "big")).hex())
        body["pok"] = out
    bad = _resigned(keys, msgs, 3, shift)
    with pytest.raises(_dkg.DKGError, match="operator 3 sent an invalid proof of knowledge") as exc:
        _dkg.round2(params, st[0], bad, keys[0])
    assert exc.value.culprit == 3
