# -*- coding: utf-8 -*-
"""RLP: the Ethereum wiki / yellow-paper examples, long forms, and strict decoding errors."""

from __future__ import annotations

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _rlp

# (item, encoding hex) from the Ethereum RLP documentation.
CASES = [
    (b"dog", "83646f67"),
    ([b"cat", b"dog"], "c88363617483646f67"),
    (b"", "80"),
    ([], "c0"),
    (b"\x00", "00"),
    (b"\x0f", "0f"),
    (b"\x04\x00", "820400"),
    (b"\x7f", "7f"),
    (b"\x80", "8180"),
    ([[], [[]], [[], [[]]]], "c7c0c1c0c3c0c1c0"),
    (b"Lorem ipsum dolor sit amet, consectetur adipisicing elit",
     "b8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572206164697069736963696e6720656c6974"),
]


@pytest.mark.parametrize("item,hexed", CASES)
def test_encode_decode_known(item, hexed):
    assert _rlp.encode(item).hex() == hexed
    assert _rlp.decode(bytes.fromhex(hexed)) == item


def test_integers():
    assert _rlp.encode(0) == b"\x80"
    assert _rlp.encode(15) == b"\x0f"
    assert _rlp.encode(1024) == bytes.fromhex("820400")
    assert _rlp.int_to_bytes(0) == b""
    assert _rlp.bytes_to_int(b"") == 0
    assert _rlp.bytes_to_int(bytes.fromhex("0181d8e44bcf")) == 1657201249231
    with pytest.raises(_rlp.RlpError, match="leading zero"):
        _rlp.bytes_to_int(b"\x00\x01")
    with pytest.raises(_rlp.RlpError):
        _rlp.encode(-1)


@pytest.mark.parametrize("size", [55, 56, 255, 256, 1024, 70000])
def test_long_forms_round_trip(size):
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    enc = _rlp.encode(data)
    assert _rlp.decode(enc) == data
    lst = [data, b"x"]
    assert _rlp.decode_list(_rlp.encode_list(lst)) == lst
    if size >= 56:
        len_be = size.to_bytes((size.bit_length() + 7) // 8, "big")
        assert enc[:1 + len(len_be)] == bytes([0xB7 + len(len_be)]) + len_be


def test_charon_record_header():
    # A charon node record is a 117-byte payload: list header f8 75.
    payload = [b"\x11" * 64, b"", b"id", b"v4", b"secp256k1", b"\x02" * 33]
    enc = _rlp.encode_list(payload)
    assert enc[:2] == b"\xf8\x75" and len(enc) == 119


@pytest.mark.parametrize("hexed,reason", [
    ("", "empty input"),
    ("83646f", "declares 3 bytes"),
    ("c88363617483646f", "declares 8 bytes"),
    ("83646f6700", "trailing"),
    ("8100", "single byte 0x00 must be encoded as itself"),
    ("817f", "single byte"),
    ("b80141", "long form used for 1 bytes"),
    ("b9000141", "leading zero"),
    ("f800", "leading zero"),
    ("f80141", "long form used for 1 bytes"),
    ("b9", "truncated"),
    ("c3836162", "declares 3 bytes"),
    ("c2c3", "declares 2 bytes"),
    ("c1c3000000", "runs past the end of the list"),
])
def test_strict_decoding_errors(hexed, reason):
    with pytest.raises(_rlp.RlpError, match=reason):
        _rlp.decode(bytes.fromhex(hexed))


def test_decode_list_refuses_string():
    with pytest.raises(_rlp.RlpError, match="expected an RLP list"):
        _rlp.decode_list(bytes.fromhex("83646f67"))


def test_encode_rejects_other_types():
    with pytest.raises(_rlp.RlpError):
        _rlp.encode(1.5)
    with pytest.raises(_rlp.RlpError):
        _rlp.encode(True)
