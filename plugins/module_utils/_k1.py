# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""secp256k1 and keccak-256 as charon's ``app/k1util`` uses them (charon-formats.md §4.1).

* ``sign`` signs a 32-byte digest as is (no prefix, no re-hash): RFC 6979, low-S, 65 bytes
  ``R||S||V`` with V in {0, 1}.
* ``recover`` accepts V in {0, 1, 27, 28} (MetaMask and the launchpad use 27/28).
* ``verify64`` checks a 64-byte ``R||S`` signature against a known key (ENR records).
"""

from __future__ import annotations

import hmac
import os

from ansible_collections.dvops.charon.plugins.module_utils._deps import require

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class K1Error(ValueError):
    """A key or signature is malformed or does not verify."""


def keccak256(data):
    keccak = require("Crypto.Hash.keccak")
    return keccak.new(digest_bits=256, data=bytes(data)).digest()


def _coincurve():
    return require("coincurve")


def generate_private_key():
    """32 random bytes that form a valid secp256k1 scalar."""
    while True:
        k = os.urandom(32)
        if 0 < int.from_bytes(k, "big") < SECP256K1_N:
            return k


def parse_private_key(raw):
    """32-byte scalar from bytes; raise K1Error when it is not a valid key."""
    if len(raw) != 32:
        raise K1Error("a secp256k1 private key is 32 bytes, got %d" % len(raw))
    if not 0 < int.from_bytes(raw, "big") < SECP256K1_N:
        raise K1Error("the value is not a valid secp256k1 private key (zero or >= group order)")
    return bytes(raw)


def public_key(private_key, compressed=True):
    return _coincurve().PrivateKey(private_key).public_key.format(compressed=compressed)


def parse_public_key(data):
    """Normalise a compressed (33) or uncompressed (65) point to 33-byte compressed form."""
    try:
        return _coincurve().PublicKey(bytes(data)).format(compressed=True)
    except Exception as exc:  # coincurve raises ValueError/TypeError subclasses
        raise K1Error("not a valid secp256k1 public key: %s" % exc)


def sign(private_key, digest):
    """k1util.Sign: 65 bytes R||S||V (V in {0,1}) over a 32-byte digest."""
    if len(digest) != 32:
        raise K1Error("k1util signs 32-byte digests, got %d bytes" % len(digest))
    return _coincurve().PrivateKey(private_key).sign_recoverable(bytes(digest), hasher=None)


def recover(signature, digest):
    """Return the 33-byte compressed public key that made ``signature`` over ``digest``."""
    if len(signature) != 65:
        raise K1Error("a recoverable signature is 65 bytes, got %d" % len(signature))
    v = signature[64]
    if v in (27, 28):
        v -= 27
    if v not in (0, 1):
        raise K1Error("invalid recovery id %d" % signature[64])
    try:
        pub = _coincurve().PublicKey.from_signature_and_message(
            bytes(signature[:64]) + bytes([v]), bytes(digest), hasher=None)
    except Exception as exc:
        raise K1Error("signature does not recover a public key: %s" % exc)
    return pub.format(compressed=True)


def verify65(public_key_bytes, signature, digest):
    """True when the 65-byte signature recovers to ``public_key_bytes``."""
    try:
        return hmac.compare_digest(recover(signature, digest), parse_public_key(public_key_bytes))
    except K1Error:
        return False


def verify64(public_key_bytes, signature, digest):
    """True when the 64-byte R||S signature verifies (low-S enforced by libsecp256k1)."""
    if len(signature) != 64:
        return False
    cc = _coincurve()
    ecdsa = require("coincurve.ecdsa")
    try:
        pub = cc.PublicKey(bytes(public_key_bytes))
        cdata_to_der, deserialize_compact = ecdsa.cdata_to_der, ecdsa.deserialize_compact
        return pub.verify(cdata_to_der(deserialize_compact(bytes(signature))), bytes(digest), hasher=None)
    except Exception:
        return False


def eth_address(public_key_bytes):
    """20-byte Ethereum address of a secp256k1 public key."""
    uncompressed = _coincurve().PublicKey(bytes(public_key_bytes)).format(compressed=False)
    return keccak256(uncompressed[1:])[12:]


def checksum_address(address20):
    """EIP-55 mixed-case text of a 20-byte address."""
    hex_addr = bytes(address20).hex()
    digest = keccak256(hex_addr.encode()).hex()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(hex_addr))
