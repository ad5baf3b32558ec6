# -*- coding: utf-8 -*-
"""Tests that kill _dkg_crypto's surviving mutants (issue 10): the share encryption's GCM nonce, AAD,
HKDF info and salt, each binding tested on its own against an independent implementation written
here (the round-trip test is satisfied by any one binding), and the transport refusals."""

from __future__ import annotations

import hashlib

import coincurve
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ansible_collections.dvops.charon.plugins.module_utils import _k1
from ansible_collections.dvops.charon.plugins.module_utils import _dkg_crypto as tc


# Share encryption: each binding on its own, against an independent implementation ------------------

def _ref_key(own_private, peer_public, eph_pub, recipient_pub, info):
    ikm = coincurve.PrivateKey(own_private).ecdh(peer_public)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + recipient_pub, info=info).derive(ikm)


DH = hashlib.sha256(b"definition").digest()
LABEL = b"dvops-dkg-share-v1"
FIELDS = {"label": LABEL, "definition_hash": DH, "sender": (1).to_bytes(2, "big"), "recipient": (2).to_bytes(2, "big")}


def _binding(skip=None, validator=None):
    parts = [v for k, v in FIELDS.items() if k != skip]
    if validator is not None:
        parts.append(b"" if skip == "validator" else validator.to_bytes(4, "big"))
    return b"".join(parts)


@pytest.fixture(scope="module")
def sealed():
    recipient, eph = _k1.generate_private_key(), tc.new_ephemeral_key()
    shares = [hashlib.sha256(bytes([v])).digest() for v in range(3)]
    blob = tc.encrypt_shares(eph, _k1.public_key(recipient), DH, 1, 2, shares)
    key = _ref_key(eph, _k1.public_key(recipient), _k1.public_key(eph), _k1.public_key(recipient), _binding())
    return recipient, eph, shares, blob, key


def _ct(blob, v):
    return blob[v * 48:(v + 1) * 48]


def test_share_encryption_matches_an_independent_implementation(sealed):
    dummy, dummy2, shares, blob, key = sealed
    expected = b"".join(AESGCM(key).encrypt(v.to_bytes(12, "big"), s, _binding(validator=v))
                        for v, s in enumerate(shares))
    assert blob == expected


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_hkdf_info_binds_each_field(sealed, field):
    recipient, eph, shares, blob, key = sealed
    other = _ref_key(eph, _k1.public_key(recipient), _k1.public_key(eph), _k1.public_key(recipient),
                     _binding(skip=field))
    assert other != key
    with pytest.raises(InvalidTag):   # sealed under a key whose info lacks this field: it would open
        AESGCM(other).decrypt((0).to_bytes(12, "big"), _ct(blob, 0), _binding(validator=0))


def test_hkdf_salt_binds_both_public_keys(sealed):
    recipient, eph, shares, blob, key = sealed
    ikm = coincurve.PrivateKey(eph).ecdh(_k1.public_key(recipient))
    for salt in (_k1.public_key(eph), _k1.public_key(recipient), b""):
        other = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_binding()).derive(ikm)
        with pytest.raises(InvalidTag):
            AESGCM(other).decrypt((0).to_bytes(12, "big"), _ct(blob, 0), _binding(validator=0))


@pytest.mark.parametrize("field", sorted(FIELDS) + ["validator"])
def test_aad_binds_each_field(sealed, field):
    dummy, dummy2, shares, blob, key = sealed
    v = 1
    assert AESGCM(key).decrypt(v.to_bytes(12, "big"), _ct(blob, v), _binding(validator=v)) == shares[v]
    with pytest.raises(InvalidTag):   # an AAD without this field would open it
        AESGCM(key).decrypt(v.to_bytes(12, "big"), _ct(blob, v), _binding(skip=field, validator=v))
    with pytest.raises(InvalidTag):
        AESGCM(key).decrypt(v.to_bytes(12, "big"), _ct(blob, v), b"")


def test_each_validator_has_its_own_nonce(sealed):
    recipient, eph, shares, blob, key = sealed
    for v in (1, 2):
        with pytest.raises(InvalidTag):   # a constant (zero) nonce would open it
            AESGCM(key).decrypt(bytes(12), _ct(blob, v), _binding(validator=v))
    # No keystream reuse: with one nonce the XOR of two ciphertexts is the XOR of the plaintexts.
    x_ct = bytes(a ^ b for a, b in zip(_ct(blob, 1)[:32], _ct(blob, 2)[:32]))
    x_pt = bytes(a ^ b for a, b in zip(shares[1], shares[2]))
    assert x_ct != x_pt


def test_decrypt_refuses_a_wrong_length_and_another_recipient(sealed):
    recipient, eph, shares, blob, key = sealed
    with pytest.raises(tc.TransportError, match="encrypted shares are 143 bytes, expected 144 for 3"):
        tc.decrypt_shares(recipient, _k1.public_key(eph), DH, 1, 2, blob[:-1], 3)
    with pytest.raises(tc.TransportError, match="validator 0 does not decrypt"):
        tc.decrypt_shares(recipient, _k1.public_key(eph), DH, 1, 3, blob, 3)
    assert tc.decrypt_shares(recipient, _k1.public_key(eph), DH, 1, 2, blob, 3) == shares


@pytest.mark.parametrize("value,size,match", [
    (None, None, "must be a hex string"), (5, None, "must be a hex string"), ("0xzz", None, "not valid hex"),
    ("0x0102", 3, "must be 3 bytes, got 2"), ("0102", 3, "must be 3 bytes, got 2"),
])
def test_unhex_refusals(value, size, match):
    with pytest.raises(tc.TransportError, match=match):
        tc.unhex(value, size, "field")
    assert tc.unhex("0x0102", 2) == b"\x01\x02" and tc.unhex("0102") == b"\x01\x02"


@pytest.mark.parametrize("message", [None, [], {"signature": "0x00"}, {"body": "text", "signature": "0x00"}])
def test_verify_message_refuses_non_objects(message):
    with pytest.raises(tc.TransportError, match="not an object with a 'body'"):
        tc.verify_message(message, _k1.public_key(_k1.generate_private_key()))
