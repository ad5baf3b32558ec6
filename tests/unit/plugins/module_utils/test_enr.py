# -*- coding: utf-8 -*-
"""_enr: every ENR / peer vector of enr.json, charon's parser rules, key file loading."""

from __future__ import annotations

import base64
import glob
import json
import os
import re

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _enr, _k1, _rlp

# ../shared/vectors beside the repository root (realpath: tests may run through the collection symlink).
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "..", ".."))
with open(os.path.join(os.path.dirname(REPO_ROOT), "shared", "vectors", "enr.json")) as _handle:
    V = {v["name"]: v for v in json.load(_handle)["vectors"]}

EIP778 = V["eip778_example_record"]
CHARON = V["charon_create_enr_record"]
KEY = bytes.fromhex(CHARON["private_key"])
# From the operator journey: a charon v0.12-style record with ip/tcp/udp and a millisecond seq.
JOURNEY = ("enr:-JG4QGQpV4qYe32QFUAbY1UyGNtNcrVMip83cvJRhw1brMslPeyELIz3q6dsZ7GblVaCjL_8FKQhF6Syg-O_kIWztimGAYHY5EvP"
           "gmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQKzMe_GFPpSqtnYl-mJr8uZAUtmkqccsAx7ojGmFy-FY4N0Y3CCDhqDdWRwgg4u")


def _text(record):
    return "enr:" + base64.urlsafe_b64encode(record).rstrip(b"=").decode()


def _signed(content, key=KEY):
    """Record text for raw RLP ``content`` (seq, k, v, ...) signed like charon does."""
    sig = _k1.sign(key, _k1.keccak256(_rlp.encode_list(content)))[:64]
    return _text(_rlp.encode_list([sig] + content))


def _pub(key=KEY):
    return _k1.public_key(key)


# --- vectors --------------------------------------------------------------------------------

def test_charon_create_enr_vector():
    assert _enr.node_record(KEY) == CHARON["enr"]
    assert CHARON["enr"].startswith("enr:-HW4Q")
    assert _enr.public_key_from_enr(CHARON["enr"]).hex() == CHARON["public_key"]
    info = _enr.enr_info(CHARON["enr"])
    assert info == {
        "seq": 0, "id": "v4", "public_key": "0x" + CHARON["public_key"], "ip": None, "tcp": None, "udp": None,
        "peer_id": _enr.peer_id(bytes.fromhex(CHARON["public_key"])),
        "peer_name": _enr.peer_name(_enr.peer_id(bytes.fromhex(CHARON["public_key"]))),
        "signature_valid": True,
    }
    assert _enr.peer_id_from_enr(CHARON["enr"]) == info["peer_id"]


def test_eip778_vector_parses():
    info = _enr.enr_info(EIP778["enr"])
    pairs = EIP778["pairs"]
    assert info["seq"] == EIP778["seq"]
    assert info["id"] == "v4"
    assert info["public_key"] == "0x" + pairs["secp256k1"]
    assert info["ip"] == "127.0.0.1" and bytes(int(x) for x in info["ip"].split(".")).hex() == pairs["ip"]
    assert info["udp"] == int(pairs["udp"], 16)
    assert info["tcp"] is None
    assert info["signature_valid"] is True
    rec = _enr.parse(EIP778["enr"])
    assert rec["signature"].hex() == EIP778["signature"]
    assert {k: v.hex() for k, v in rec["pairs"].items()} == {k: (v if k != "id" else b"v4".hex()) for k, v in pairs.items()}
    assert _enr.node_id(rec["public_key"]).hex() == EIP778["node_id"]


def test_eip778_vector_reproduced_from_key():
    key = bytes.fromhex(EIP778["private_key"])
    extra = {"ip": bytes.fromhex(EIP778["pairs"]["ip"]), "udp": bytes.fromhex(EIP778["pairs"]["udp"])}
    assert _enr.encode(key, seq=EIP778["seq"], extra=extra) == EIP778["enr"]


def test_peer_name_vector():
    vec = V["peer_name"]
    assert _enr.peer_name(vec["peer_id"]) == vec["peer_name"]


def test_word_lists():
    assert len(_enr.NOUNS) == 144 and len(_enr.ADJECTIVES) == 196
    assert _enr.NOUNS.count("pen") == 2
    assert (_enr.NOUNS[0], _enr.NOUNS[-1], _enr.ADJECTIVES[0], _enr.ADJECTIVES[-1]) == ("adult", "yesterday", "adorable", "zealous")


def test_peer_id_structure():
    pid = _enr.peer_id(_pub())
    assert pid.startswith("16Uiu2HA")
    # Decode base58 back to the identity multihash of the protobuf key.
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    num = 0
    for c in pid:
        num = num * 58 + alphabet.index(c)
    raw = num.to_bytes(39, "big")
    assert raw == b"\x00\x25\x08\x02\x12\x21" + _pub()
    with pytest.raises(_enr.EnrError, match="33-byte"):
        _enr.peer_id(b"\x02" * 32)


# --- older forms ----------------------------------------------------------------------------

def test_journey_record_v012_style():
    info = _enr.enr_info(JOURNEY)
    assert info["seq"] == 1657201249231          # a millisecond timestamp (2022-07-07)
    assert (info["ip"], info["tcp"], info["udp"]) == ("127.0.0.1", 3610, 3630)
    assert info["id"] == "v4"
    assert info["public_key"] == "0x02b331efc614fa52aad9d897e989afcb99014b6692a71cb00c7ba231a6172f8563"
    assert info["peer_id"] == _enr.peer_id(bytes.fromhex(info["public_key"][2:]))
    assert info["peer_name"] == _enr.peer_name(info["peer_id"])
    # Checked, not assumed: the record is correctly self-signed.
    assert info["signature_valid"] is True


@pytest.mark.parametrize("record", [CHARON["enr"], EIP778["enr"], JOURNEY])
def test_padded_base64_from_charon_v09(record):
    body = record[4:]
    padded = "enr:" + body + "=" * (-len(body) % 4)
    assert _enr.enr_info(padded) == _enr.enr_info(record)


def test_whitespace_and_line_breaks_tolerated():
    assert _enr.enr_info("  " + CHARON["enr"] + "\n")["signature_valid"]
    text = CHARON["enr"]
    assert _enr.enr_info(text[:40] + "\r\n" + text[40:])["peer_id"] == _enr.peer_id_from_enr(text)


def test_seq_timestamp_and_extra_keys_accepted():
    content = [_rlp.int_to_bytes(1657201249231), b"eth2", b"\x01\x02", b"id", b"v4", b"ip", bytes([10, 0, 0, 7]),
               b"secp256k1", _pub(), b"tcp", (3610).to_bytes(2, "big"), b"zzz", [b"nested", b"list"]]
    info = _enr.enr_info(_signed(content))
    assert info["seq"] == 1657201249231 and info["ip"] == "10.0.0.7" and info["tcp"] == 3610 and info["udp"] is None
    assert info["signature_valid"]


def test_unsorted_keys_and_missing_id_accepted():
    # charon's parser checks duplicates, not order; id is only checked when present.
    info = _enr.enr_info(_signed([b"", b"secp256k1", _pub(), b"ip", bytes([1, 2, 3, 4])]))
    assert info["id"] is None and info["ip"] == "1.2.3.4" and info["signature_valid"]


# --- signature ------------------------------------------------------------------------------

def test_tampered_record_parses_with_invalid_signature():
    rec = _enr.parse(CHARON["enr"])
    content = [b"\x01", b"id", b"v4", b"secp256k1", rec["public_key"]]   # seq changed after signing
    text = _text(_rlp.encode_list([rec["signature"]] + content))
    assert _enr.enr_info(text)["signature_valid"] is False


def test_signature_by_other_key_is_invalid():
    other = bytes.fromhex(EIP778["private_key"])
    text = _signed([b"", b"id", b"v4", b"secp256k1", _pub()], key=other)
    assert _enr.enr_info(text)["signature_valid"] is False
    assert _enr.public_key_from_enr(text) == _pub()
    with pytest.raises(_enr.EnrError, match="invalid signature"):
        _enr.peer_id_from_enr(text, verify=True)
    assert _enr.peer_id_from_enr(CHARON["enr"], verify=True) == _enr.peer_id(_pub())


def test_short_signature_is_invalid_not_an_error():
    text = _text(_rlp.encode_list([b"\x01" * 10, b"", b"id", b"v4", b"secp256k1", _pub()]))
    assert _enr.enr_info(text)["signature_valid"] is False


def test_high_s_signature_is_valid_like_charon():
    # charon's Verify64 (decred ECDSA) does not enforce low-S, unlike libsecp256k1.
    rec = _enr.parse(CHARON["enr"])
    r, s = rec["signature"][:32], int.from_bytes(rec["signature"][32:], "big")
    high = r + (_k1.SECP256K1_N - s).to_bytes(32, "big")
    content = [b"", b"id", b"v4", b"secp256k1", rec["public_key"]]
    assert _enr.enr_info(_text(_rlp.encode_list([high] + content)))["signature_valid"] is True
    overflow = r + _k1.SECP256K1_N.to_bytes(32, "big")
    assert _enr.enr_info(_text(_rlp.encode_list([overflow] + content)))["signature_valid"] is False
    zero_r = bytes(32) + rec["signature"][32:]
    assert _enr.enr_info(_text(_rlp.encode_list([zero_r] + content)))["signature_valid"] is False


# --- errors ---------------------------------------------------------------------------------

def _raw(content):
    return _text(_rlp.encode_list([b"\x00" * 64] + content))


GOOD = [b"", b"id", b"v4", b"secp256k1"]


@pytest.mark.parametrize("text,reason", [
    ("", "starts with 'enr:'"),
    (CHARON["enr"][4:], "starts with 'enr:'"),
    ("ENR:" + CHARON["enr"][4:], "starts with 'enr:'"),
    ("enr:", "empty"),
    ("enr:===", "empty"),
    ("enr:-HW4Q+No", "not in the URL-safe alphabet"),
    ("enr:-HW4Q/No", "not in the URL-safe alphabet"),
    ("enr:-HW4Q No", "not in the URL-safe alphabet"),
    ("enr:-HW4QMNo8", "cannot encode whole bytes"),
    (CHARON["enr"][:-8], "RLP structure"),
    (_text(b"\x83abc"), "expected an RLP list"),
    (_text(_rlp.encode_list([b"a", b"b"]) + b"\x00"), "trailing"),
    (_text(_rlp.encode_list([b"\x00" * 64, b"", b"id"])), "at least 4 elements"),
    (_raw([b"", b"id", b"v4", b"secp256k1"]), "odd number"),
    (_raw([b"", b"id", b"v4", b"id", b"v4"]), "duplicate key 'id'"),
    (_raw([b"", b"id", b"v4"]), "no 'secp256k1'"),
    (_raw([b"", b"id", b"v4", b"secp256k1", b"\x02" + b"\xff" * 32]), "not a point"),
    (_raw([b"", b"id", b"v4", b"secp256k1", b"\x05" + b"\x11" * 32]), "starting 0x05"),
    (_raw([b"", b"id", b"v4", b"secp256k1", b"\x04" + b"\x11" * 64]), "not a point"),
    (_raw([b"", b"id", b"v4", b"secp256k1", b"\x02" * 32]), "33-byte"),
    (_raw([b"", b"id", b"v4", b"secp256k1", b"\x06" + b"\x02" * 64]), "65-byte uncompressed"),
    (_raw([b"", b"id", b"v4", b"secp256k1", [b"\x02" * 33]]), "is a list"),
    (_raw([b"", b"id", b"v5", b"secp256k1", b"\x02" * 33]), "id is 'v5', not 'v4'"),
    (_raw([b"", b"id", b"v5", b"secp256k1", b"\x02" + b"\xff" * 32]), "id is 'v5', not 'v4'"),
    (_raw([b"", b"id", b"v5"]), "id is 'v5'"),
    (_raw([[b"x"], b"id", b"v4", b"secp256k1", b"\x02" * 33]), "seq is a list"),
    (_raw([b"", [b"id"], b"v4", b"secp256k1", b"\x02" * 33]), "key #1 is a list"),
    (_text(bytes.fromhex("f800")), "RLP structure"),
])
def test_not_an_enr(text, reason):
    with pytest.raises(_enr.EnrError, match=reason):
        _enr.enr_info(text)


def test_non_string_input():
    with pytest.raises(_enr.EnrError, match="is a string"):
        _enr.enr_info(None)


def test_ip_forms():
    info = _enr.enr_info(_signed([b"", b"id", b"v4", b"ip", bytes([192, 168, 1, 20]), b"secp256k1", _pub()]))
    assert info["ip"] == "192.168.1.20"
    info = _enr.enr_info(_signed([b"", b"id", b"v4", b"ip", bytes(15) + b"\x01", b"secp256k1", _pub()]))
    assert info["ip"] == "::1"
    info = _enr.enr_info(_signed([b"", b"id", b"v4", b"ip", bytes(10) + b"\xff\xff" + bytes([1, 2, 3, 4]), b"secp256k1", _pub()]))
    assert info["ip"] == "1.2.3.4"


def test_bad_ip_and_port_are_reported():
    with pytest.raises(_enr.EnrError, match="ip"):
        _enr.enr_info(_signed([b"", b"id", b"v4", b"ip", b"\x01\x02", b"secp256k1", _pub()]))
    with pytest.raises(_enr.EnrError, match="tcp"):
        _enr.enr_info(_signed([b"", b"id", b"v4", b"secp256k1", _pub(), b"tcp", b"\x01\x02\x03"]))


def test_uncompressed_point_accepted_like_decred():
    upub = _k1.public_key(KEY, compressed=False)
    info = _enr.enr_info(_signed([b"", b"id", b"v4", b"secp256k1", upub]))
    assert info["public_key"] == "0x" + CHARON["public_key"] and info["signature_valid"]


def test_any_seq_is_accepted():
    # charon does not interpret seq: leading zeros and more than 64 bits still parse.
    assert _enr.enr_info(_signed([b"\x00\x01", b"id", b"v4", b"secp256k1", _pub()]))["seq"] == 1
    assert _enr.enr_info(_signed([b"\x01" * 9, b"id", b"v4", b"secp256k1", _pub()]))["seq"] == int("01" * 9, 16)


# --- key file -------------------------------------------------------------------------------

def test_load_private_key_file(tmp_path):
    path = tmp_path / "charon-enr-private-key"
    path.write_bytes(b"\n  " + CHARON["private_key"].upper().encode() + b"\r\n\t")
    assert _enr.load_private_key_file(str(path)) == KEY
    assert _enr.format_private_key(KEY) == CHARON["private_key"].encode()


@pytest.mark.parametrize("content,reason", [
    (b"", "is empty"),
    (b" \n", "is empty"),
    (b"0x" + CHARON["private_key"].encode(), "starts with '0x'"),
    (CHARON["private_key"][:-2].encode(), "62 hex characters"),
    (CHARON["private_key"].encode() + b"00", "66 hex characters"),
    (CHARON["private_key"][:-1].encode() + b"g", "non-hex"),
    (CHARON["private_key"][:10].encode() + b" " + CHARON["private_key"][10:].encode(), "non-hex"),
    (b"\xff" * 64, "non-ASCII"),
    (b"0" * 64, "zero"),
    (b"f" * 64, "group order"),
])
def test_load_private_key_file_errors(tmp_path, content, reason):
    path = tmp_path / "charon-enr-private-key"
    path.write_bytes(content)
    with pytest.raises(_enr.EnrError, match=reason) as info:
        _enr.load_private_key_file(str(path))
    assert str(path) in str(info.value)
    if len(content) >= 64:
        assert content.decode("latin-1")[4:60] not in str(info.value)  # the key is never echoed


def test_load_private_key_file_missing(tmp_path):
    with pytest.raises(_enr.EnrError, match="cannot read .*No such file"):
        _enr.load_private_key_file(str(tmp_path / "nope"))


# --- ENRs found in charon's own cluster files -----------------------------------------------

def _charon_file_enrs():
    found = []
    for path in sorted(glob.glob(os.path.join(os.path.dirname(REPO_ROOT), "shared", "vectors", "charon", "*.json"))):
        with open(path) as handle:
            found += [(os.path.basename(path), e) for e in re.findall(r'"(enr:[^"]*)"', handle.read())]
    return found


@pytest.mark.parametrize("name,text", _charon_file_enrs())
def test_enrs_in_charon_cluster_files(name, text):
    info = _enr.enr_info(text)
    assert info["seq"] == 0 and info["id"] == "v4" and info["signature_valid"], name
    assert _enr.peer_id_from_enr(text, verify=True).startswith("16Uiu2HA")
