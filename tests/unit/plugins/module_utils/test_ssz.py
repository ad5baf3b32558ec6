# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""The few _ssz helpers _eth2 relies on, against hand-computed SSZ."""

from __future__ import annotations

import hashlib

from ansible_collections.dvops.charon.plugins.module_utils import _ssz


def sha(b):
    return hashlib.sha256(b).digest()


def test_bytes_vector_roots():
    assert _ssz.bytes_vector_root(b"\x01\x02\x03\x04") == b"\x01\x02\x03\x04" + bytes(28)
    b20 = bytes(range(20))
    assert _ssz.bytes_vector_root(b20) == b20 + bytes(12)
    b32 = bytes(range(32))
    assert _ssz.bytes_vector_root(b32) == b32
    b48 = bytes(range(48))
    assert _ssz.bytes_vector_root(b48) == sha(b48 + bytes(16))
    b96 = bytes(range(96))
    assert _ssz.bytes_vector_root(b96) == sha(sha(b96[:64]) + sha(b96[64:] + bytes(32)))


def test_uint64_and_containers():
    assert _ssz.uint64_root(1) == b"\x01" + bytes(31)
    a, b, c = b"\xaa" * 32, b"\xbb" * 32, b"\xcc" * 32
    assert _ssz.container_root([a, b]) == sha(a + b)
    assert _ssz.container_root([a, b, c]) == sha(sha(a + b) + sha(c + bytes(32)))


def test_domain_and_signing_root():
    fork_data = sha(b"\x00\x00\x10\x20" + bytes(28) + bytes(32))
    assert _ssz.compute_domain(b"\x03\x00\x00\x00", b"\x00\x00\x10\x20") == b"\x03\x00\x00\x00" + fork_data[:28]
    assert _ssz.signing_root(b"\x01" * 32, b"\x02" * 32) == sha(b"\x01" * 32 + b"\x02" * 32)
