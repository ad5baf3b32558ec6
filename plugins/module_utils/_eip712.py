# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""EIP-712 typed-data digests for charon's operator and creator signatures (charon-formats.md §4.2).

Only what charon uses: string and uint256 fields, domain ``("Obol", "1", chainId)`` (the
Terms-and-Conditions domain omits chainId).  Signatures are 65-byte ``R||S||V`` checked by
public-key recovery (V in {0, 1, 27, 28}) against an Ethereum address; ERC-1271 contract
signatures need an execution client and are out of scope here.
"""

from __future__ import annotations

import hmac

from ansible_collections.dvops.charon.plugins.module_utils import _k1

DOMAIN_NAME = "Obol"
DOMAIN_VERSION = "1"
TERMS_AND_CONDITIONS_HASH = "0xd33721644e8f3afab1495a74abe3523cec12d48b8da6cb760972492ca3f1a273"
TERMS_AND_CONDITIONS_VERSION = 1

# Primary type -> its fields (name, type), in encodeType order.
TYPES = {
    "ConfigHash": (("config_hash", "string"),),
    "OperatorConfigHash": (("operator_config_hash", "string"),),
    "CreatorConfigHash": (("creator_config_hash", "string"),),
    "ENR": (("enr", "string"),),
    "TermsAndConditions": (("terms_and_conditions_hash", "string"), ("version", "uint256")),
}


class EIP712Error(ValueError):
    """Unknown type, bad field value or malformed signature/address."""


def encode_type(primary_type, fields):
    return "%s(%s)" % (primary_type, ",".join("%s %s" % (t, n) for n, t in fields))


def type_hash(primary_type, fields):
    return _k1.keccak256(encode_type(primary_type, fields).encode())


def _encode_value(typ, value):
    if typ == "string":
        if not isinstance(value, str):
            raise EIP712Error("a string field needs text, got %r" % type(value).__name__)
        return _k1.keccak256(value.encode("utf-8"))
    if typ == "uint256":
        v = int(value)
        if not 0 <= v < 2 ** 256:
            raise EIP712Error("uint256 out of range: %d" % v)
        return v.to_bytes(32, "big")
    raise EIP712Error("unsupported EIP-712 field type %r" % typ)


def hash_struct(primary_type, fields, values):
    """keccak256(typeHash || enc(v1) || ...); ``values`` maps field name -> value."""
    parts = [type_hash(primary_type, fields)]
    for name, typ in fields:
        parts.append(_encode_value(typ, values[name]))
    return _k1.keccak256(b"".join(parts))


def domain_fields(with_chain_id=True):
    fields = (("name", "string"), ("version", "string"))
    return fields + (("chainId", "uint256"),) if with_chain_id else fields


def domain_separator(chain_id=None):
    """hashStruct(EIP712Domain); ``chain_id`` None omits the field (Terms and Conditions)."""
    values = {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id}
    return hash_struct("EIP712Domain", domain_fields(chain_id is not None), values)


def digest(primary_type, values, chain_id=None):
    """keccak256(0x1901 || domainSeparator || hashStruct(message)) for one of ``TYPES``."""
    if primary_type not in TYPES:
        raise EIP712Error("unknown EIP-712 type %r (known: %s)" % (primary_type, ", ".join(sorted(TYPES))))
    if primary_type != "TermsAndConditions" and chain_id is None:
        raise EIP712Error("%s needs the chain id of the definition's network" % primary_type)
    dom = domain_separator(None if primary_type == "TermsAndConditions" else int(chain_id))
    if isinstance(values, str):
        values = {TYPES[primary_type][0][0]: values}
    return _k1.keccak256(b"\x19\x01" + dom + hash_struct(primary_type, TYPES[primary_type], values))


def hash_hex(hash32):
    """The text charon signs for a config hash: ``"0x"`` + lowercase hex."""
    return "0x" + bytes(hash32).hex()


# The four cluster digests -----------------------------------------------------------------------

def config_hash_digest(config_hash, chain_id):
    """v1.3 operator config_signature (type ``ConfigHash``)."""
    return digest("ConfigHash", hash_hex(config_hash), chain_id)


def operator_config_hash_digest(config_hash, chain_id):
    """v1.4+ operator config_signature (type ``OperatorConfigHash``)."""
    return digest("OperatorConfigHash", hash_hex(config_hash), chain_id)


def creator_config_hash_digest(config_hash, chain_id):
    """v1.4+ creator config_signature (type ``CreatorConfigHash``)."""
    return digest("CreatorConfigHash", hash_hex(config_hash), chain_id)


def enr_digest(enr, chain_id):
    """v1.3+ operator enr_signature (type ``ENR``)."""
    return digest("ENR", enr, chain_id)


def terms_and_conditions_digest(terms_hash=TERMS_AND_CONDITIONS_HASH, version=TERMS_AND_CONDITIONS_VERSION):
    return digest("TermsAndConditions", {"terms_and_conditions_hash": terms_hash, "version": version})


def operator_config_digest(version_minor, config_hash, chain_id):
    """The operator config digest for a definition version (``ConfigHash`` in v1.3, else ``OperatorConfigHash``)."""
    if version_minor == 3:
        return config_hash_digest(config_hash, chain_id)
    return operator_config_hash_digest(config_hash, chain_id)


# Signing and verification -----------------------------------------------------------------------

def sign(private_key, digest32):
    """65-byte R||S||V (V in {0,1}) over a digest, as k1util.Sign (used by tests and fixtures)."""
    return _k1.sign(private_key, digest32)


def address_bytes(address):
    """20 bytes of a ``0x…`` address of any case (the EIP-55 checksum is not enforced, as in charon)."""
    if isinstance(address, (bytes, bytearray)):
        raw = bytes(address)
    else:
        text = str(address)
        text = text[2:] if text[:2] in ("0x", "0X") else text
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise EIP712Error("%r is not a hex address" % (address,))
    if len(raw) != 20:
        raise EIP712Error("an address is 20 bytes, got %d" % len(raw))
    return raw


def recover_address(signature, digest32):
    """20-byte address that produced ``signature`` (V 0/1/27/28); EIP712Error when it does not recover."""
    try:
        return _k1.eth_address(_k1.recover(bytes(signature), bytes(digest32)))
    except _k1.K1Error as exc:
        raise EIP712Error(str(exc))


def verify(address, signature, digest32):
    """True when the 65-byte signature over ``digest32`` recovers to ``address``."""
    try:
        want = address_bytes(address)
        return hmac.compare_digest(recover_address(signature, digest32), want)
    except (EIP712Error, ValueError):
        return False
