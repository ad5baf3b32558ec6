# -*- coding: utf-8 -*-
"""_cluster's batched BLS signature check (_Bls), fed directly (issue 10, mutation run 3): every
wrong signature is named and only it, a correct set passes in one pairing check (the batch), a
single signature is checked on its own, malformed points are named with their size.  Keys and
signatures are real BLS12-381 (py_arkworks_bls12381 through _bls)."""

from __future__ import annotations

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _cluster

SKS = [11, 12, 13]


def _sig(sk, msg):
    return _bls.sign(sk, msg)


class _CountingLib(object):
    """The real library, with GT.pairing_check counted (how many pairing checks a verification costs)."""

    def __init__(self, lib):
        self._lib = lib
        self.calls = 0
        outer = self

        class GT(object):
            @staticmethod
            def pairing_check(g1s, g2s):
                outer.calls += 1
                return lib.GT.pairing_check(g1s, g2s)

        self.GT = GT

    def __getattr__(self, name):
        return getattr(self._lib, name)


@pytest.fixture
def bls():
    b = _cluster._Bls()
    b.lib = _CountingLib(b.lib)
    return b


def _queue(bls, items):
    for k, (sk, msg, sig) in enumerate(items):
        assert bls.add(_bls.secret_to_public(sk), msg, sig, "item%d" % k, "check%d" % k) is None


def test_nothing_queued_nothing_checked(bls):
    assert bls.run() == [] and bls.lib.calls == 0


def test_a_correct_set_passes_in_one_pairing_check(bls):
    items = [(sk, b"msg-%d" % sk, _sig(sk, b"msg-%d" % sk)) for sk in SKS]
    items.append((SKS[0], b"second message, same key", _sig(SKS[0], b"second message, same key")))
    _queue(bls, items)
    assert bls.run() == [] and bls.lib.calls == 1
    assert bls.items == []      # the queue is cleared: a second run checks nothing again
    assert bls.run() == [] and bls.lib.calls == 1


@pytest.mark.parametrize("bad", [0, 1, 3])
def test_only_the_wrong_signature_is_named(bls, bad):
    items = [(sk, b"msg-%d" % sk, _sig(sk, b"msg-%d" % sk)) for sk in SKS]
    items.append((SKS[0], b"second", _sig(SKS[0], b"second")))
    sk, msg, dummy = items[bad]
    items[bad] = (sk, msg, _sig(sk, b"another message"))
    _queue(bls, items)
    assert bls.run() == [("check%d" % bad, "item%d" % bad)]


def test_one_signature_is_checked_alone(bls):
    # One pairing check each, right or wrong: no batch first and then the same check again.
    _queue(bls, [(SKS[0], b"m", _sig(SKS[0], b"m"))])
    assert bls.run() == [] and bls.lib.calls == 1
    _queue(bls, [(SKS[0], b"m", _sig(SKS[1], b"m"))])
    assert bls.run() == [("check0", "item0")] and bls.lib.calls == 2


def test_two_correct_signatures_cost_one_pairing_check(bls):
    _queue(bls, [(SKS[0], b"a", _sig(SKS[0], b"a")), (SKS[1], b"b", _sig(SKS[1], b"b"))])
    assert bls.run() == [] and bls.lib.calls == 1


def test_two_signatures_swapped_between_keys_fail(bls):
    # Each signature is valid, but under the other key: an unweighted sum would hide nothing here,
    # the per-key grouping must keep them apart.
    _queue(bls, [(SKS[0], b"a", _sig(SKS[1], b"b")), (SKS[1], b"b", _sig(SKS[0], b"a"))])
    assert sorted(bls.run()) == [("check0", "item0"), ("check1", "item1")]


def test_malformed_points_are_named_and_not_queued(bls):
    pk = _bls.secret_to_public(SKS[0])
    sig = _sig(SKS[0], b"m")
    identity = b"\xc0" + bytes(47)
    assert bls.add(identity, b"m", sig, "lbl", "chk") == "lbl: the public key is not a valid BLS12-381 G1 point"
    assert bls.add(pk[:47], b"m", sig, "lbl", "chk") == "lbl: the public key is not a valid BLS12-381 G1 point"
    assert bls.add(pk, b"m", sig[:95], "lbl", "chk") == \
        "lbl: the signature is not a valid BLS12-381 G2 point (95 bytes)"
    assert bls.add(pk, b"m", b"\x00" * 96, "lbl", "chk") == \
        "lbl: the signature is not a valid BLS12-381 G2 point (96 bytes)"
    assert bls.items == [] and bls.run() == []


def test_g1_decodes_the_same_bytes_to_the_same_point(bls):
    pk = _bls.secret_to_public(SKS[2])
    first = bls.g1(pk)
    assert first is not None and bls.g1(bytearray(pk)) == first
    assert bls.g1(b"\xc0" + bytes(47)) is None and bls.g1(pk + b"\x00") is None
