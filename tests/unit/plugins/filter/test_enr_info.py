# -*- coding: utf-8 -*-
"""The enr_info filter: plugin wiring, AnsibleFilterError on bad input, vectors of enr.json."""

from __future__ import annotations

import json
import os

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.dvops.charon.plugins.filter.enr import FilterModule
from ansible_collections.dvops.charon.plugins.module_utils import _enr

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "..", ".."))
with open(os.path.join(os.path.dirname(REPO_ROOT), "shared", "vectors", "enr.json")) as _handle:
    V = {v["name"]: v for v in json.load(_handle)["vectors"]}

enr_info = FilterModule().filters()["enr_info"]
KEYS = {"seq", "id", "public_key", "ip", "tcp", "udp", "peer_id", "peer_name", "signature_valid"}


def test_charon_record():
    vec = V["charon_create_enr_record"]
    info = enr_info(vec["enr"])
    assert set(info) == KEYS
    assert info["seq"] == 0 and info["id"] == "v4" and info["public_key"] == "0x" + vec["public_key"]
    assert info["ip"] is info["tcp"] is info["udp"] is None
    assert info["signature_valid"] is True


def test_eip778_record():
    vec = V["eip778_example_record"]
    info = enr_info(vec["enr"])
    assert (info["seq"], info["ip"], info["udp"], info["tcp"]) == (1, "127.0.0.1", 0x765F, None)
    assert info["public_key"] == "0x" + vec["pairs"]["secp256k1"] and info["signature_valid"]


def test_peer_name_matches_vector_rule():
    vec = V["peer_name"]
    assert _enr.peer_name(vec["peer_id"]) == vec["peer_name"]


def test_journey_record():
    text = ("enr:-JG4QGQpV4qYe32QFUAbY1UyGNtNcrVMip83cvJRhw1brMslPeyELIz3q6dsZ7GblVaCjL_8FKQhF6Syg-O_kIWztimGAYHY5EvP"
            "gmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQKzMe_GFPpSqtnYl-mJr8uZAUtmkqccsAx7ojGmFy-FY4N0Y3CCDhqDdWRwgg4u")
    info = enr_info(text)
    assert (info["seq"], info["ip"], info["tcp"], info["udp"]) == (1657201249231, "127.0.0.1", 3610, 3630)
    assert info["signature_valid"] is True and info["peer_id"].startswith("16Uiu2HA")


@pytest.mark.parametrize("text,reason", [
    ("enx:abc", "starts with 'enr:'"),
    ("enr:@@@@", "URL-safe alphabet"),
    ("enr:YWJj", "expected an RLP list"),
    (42, "is a string"),
])
def test_errors_are_filter_errors(text, reason):
    with pytest.raises(AnsibleFilterError, match="not a valid ENR: .*" + reason):
        enr_info(text)
