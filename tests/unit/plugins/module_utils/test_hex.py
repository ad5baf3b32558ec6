# -*- coding: utf-8 -*-
"""_hex.fixed_bytes: the hex parser _networks and _exit share, with each caller's error type and wording."""

from __future__ import annotations

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _exit, _hex, _networks


class Oops(ValueError):
    pass


@pytest.mark.parametrize("value", ["0x0a0B0c0D", "0X0A0B0C0D", "0a0b0c0d", "  0x0a0b0c0d\n", b"\x0a\x0b\x0c\x0d",
                                   bytearray(b"\x0a\x0b\x0c\x0d")])
def test_accepts_prefixed_bare_either_case_and_bytes(value):
    assert _hex.fixed_bytes(value, 4, "f", Oops) == b"\x0a\x0b\x0c\x0d"


def test_not_hex_names_the_field_and_the_value():
    with pytest.raises(Oops, match=r"^fork: '0xzz' is not hex$"):
        _hex.fixed_bytes("0xzz", 4, "fork", Oops)


def test_wrong_length_with_and_without_what():
    with pytest.raises(Oops, match=r"^root: a root is 32 bytes, got 2$"):
        _hex.fixed_bytes("0x0102", 32, "root", Oops, "a root")
    with pytest.raises(Oops, match=r"^pubkey: expected 48 bytes, got 2$"):
        _hex.fixed_bytes(b"\x01\x02", 48, "pubkey", Oops)


def test_callers_keep_their_error_types_and_messages():
    with pytest.raises(_networks.NetworkError, match=r"^genesis_fork_version: a fork version is 4 bytes, got 3$"):
        _networks.fork_version_bytes("0x010203", "genesis_fork_version")
    with pytest.raises(_exit.ExitError, match=r"^sig: 'xyz' is not hex$"):
        _exit.unhex("xyz", 96, "sig")
    with pytest.raises(_exit.ExitError, match=r"^sig: expected 96 bytes, got 1$"):
        _exit.unhex("0x01", 96, "sig")
