# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Recursive Length Prefix (RLP) encoding as used by ENRs (charon's ``eth2util/rlp``).

Only what node records need: byte strings and lists (nested lists are decoded too, because
EIP-778 allows list values, but charon itself only ever writes one flat list of strings).

Decoding is strict: truncated input, trailing bytes and non-canonical forms (a single byte
below 0x80 wrapped in a string header, a long form for a short payload, length prefixes with
leading zeros) raise ``RlpError`` with the offset, so a damaged record never decodes to
something else silently.  Pure Python, no third-party imports.
"""

from __future__ import annotations


class RlpError(ValueError):
    """The input is not canonical RLP of the expected shape."""


def _length_prefix(length, short_base, long_base):
    if length < 56:
        return bytes([short_base + length])
    len_be = int_to_bytes(length)
    return bytes([long_base + len(len_be)]) + len_be


def int_to_bytes(value):
    """Big-endian bytes with no leading zeros (0 -> b''), the RLP form of an integer."""
    if value < 0:
        raise RlpError("RLP cannot encode negative integers (%d)" % value)
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def bytes_to_int(data):
    """Inverse of ``int_to_bytes``; refuses leading zeros (non-canonical integer)."""
    data = bytes(data)
    if data[:1] == b"\x00":
        raise RlpError("non-canonical integer: leading zero byte in %s" % data.hex())
    return int.from_bytes(data, "big")


def encode(item):
    """RLP of ``item``: bytes-like, int (as minimal big-endian bytes), str (UTF-8) or a list/tuple of those."""
    if isinstance(item, (list, tuple)):
        payload = b"".join(encode(x) for x in item)
        return _length_prefix(len(payload), 0xC0, 0xF7) + payload
    if isinstance(item, bool):
        raise RlpError("RLP has no boolean type")
    if isinstance(item, int):
        item = int_to_bytes(item)
    elif isinstance(item, str):
        item = item.encode("utf-8")
    elif isinstance(item, (bytes, bytearray, memoryview)):
        item = bytes(item)
    else:
        raise RlpError("cannot RLP-encode a %s" % type(item).__name__)
    if len(item) == 1 and item[0] < 0x80:
        return item
    return _length_prefix(len(item), 0x80, 0xB7) + item


def encode_list(items):
    """RLP list of byte strings (``rlp_list`` in charon-formats.md)."""
    return encode(list(items))


def _read_header(data, pos):
    """Return (is_list, payload_start, payload_length) of the item at ``pos``."""
    if pos >= len(data):
        raise RlpError("unexpected end of input at offset %d" % pos)
    prefix = data[pos]
    if prefix < 0x80:
        return False, pos, 1
    if prefix < 0xB8:
        length = prefix - 0x80
        if length == 1:
            if pos + 1 >= len(data):
                raise RlpError("string at offset %d is truncated" % pos)
            if data[pos + 1] < 0x80:
                raise RlpError("non-canonical string at offset %d: single byte 0x%02x must be encoded as itself"
                               % (pos, data[pos + 1]))
        return False, pos + 1, length
    if prefix < 0xC0:
        return (False,) + _long_length(data, pos, prefix - 0xB7, "string")
    if prefix < 0xF8:
        return True, pos + 1, prefix - 0xC0
    return (True,) + _long_length(data, pos, prefix - 0xF7, "list")


def _long_length(data, pos, len_of_len, kind):
    start = pos + 1
    if start + len_of_len > len(data):
        raise RlpError("%s length at offset %d is truncated" % (kind, pos))
    len_be = data[start:start + len_of_len]
    if len_be[0] == 0:
        raise RlpError("non-canonical %s length at offset %d: leading zero byte" % (kind, pos))
    length = int.from_bytes(len_be, "big")
    if length < 56:
        raise RlpError("non-canonical %s length at offset %d: long form used for %d bytes" % (kind, pos, length))
    return start + len_of_len, length


def _decode_at(data, pos):
    is_list, start, length = _read_header(data, pos)
    end = start + length
    if end > len(data):
        raise RlpError("%s at offset %d declares %d bytes but only %d remain"
                       % ("list" if is_list else "string", pos, length, len(data) - start))
    if not is_list:
        return data[start:end], end
    items = []
    cur = start
    while cur < end:
        item, cur = _decode_at(data, cur)
        if cur > end:
            raise RlpError("an item of the list at offset %d runs past the end of the list" % pos)
        items.append(item)
    return items, end


def decode(data):
    """Decode one RLP item that spans all of ``data``: bytes, or a (nested) list of bytes."""
    data = bytes(data)
    if not data:
        raise RlpError("empty input")
    item, end = _decode_at(data, 0)
    if end != len(data):
        raise RlpError("%d trailing byte(s) after the RLP item (offset %d)" % (len(data) - end, end))
    return item


def decode_list(data):
    """Decode ``data`` that must be one RLP list; return its items."""
    data = bytes(data)
    if data and data[0] < 0xC0:
        raise RlpError("expected an RLP list, found a byte string (prefix 0x%02x)" % data[0])
    return decode(data)
