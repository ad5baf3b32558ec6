# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Transport crypto of the native DKG: signed messages and shares encrypted to an ENR key.

* Every ceremony message is ``{"body": {...}, "signature": "0x<65 B>"}``; the signature is
  ``_k1.sign(enr_key, sha256(canonical(body)))`` with ``canonical`` = sorted-key compact JSON,
  so the relay (the Ansible controller, which round-trips the dicts through YAML/JSON) cannot
  change a byte without it being detected.
* Shares travel encrypted: the sender makes a fresh ephemeral secp256k1 key per ceremony
  attempt, ``ikm = ECDH(ephemeral, recipient ENR public key)``, the AES-256-GCM key is
  ``HKDF-SHA256(ikm, salt=eph_pub||recipient_pub, info=label||definition_hash||sender||recipient)``
  and each validator's share is sealed with ``AAD = label||definition_hash||sender||recipient||validator``.
  The key is unique per attempt, so the validator index is a safe nonce.  The ephemeral public
  key sits inside the signed body, which authenticates the sender.
"""

from __future__ import annotations

import hashlib
import json

from ansible_collections.dvops.charon.plugins.module_utils import _deps, _k1

SHARE_LABEL = b"dvops-dkg-share-v1"
SHARE_CT_LEN = 32 + 16  # 32-byte scalar + GCM tag


class TransportError(ValueError):
    """A message signature, ciphertext or encoding is invalid."""


def canonical(body):
    """The exact bytes a message signature covers."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def body_digest(body):
    return hashlib.sha256(canonical(body)).digest()


def sign_message(enr_key, body):
    """Wrap ``body`` into a message signed with the sender's ENR private key."""
    return {"body": body, "signature": "0x" + _k1.sign(enr_key, body_digest(body)).hex()}


def verify_message(message, enr_pubkey):
    """Return the body when ``message`` carries a valid signature by ``enr_pubkey``; else raise."""
    if not isinstance(message, dict) or not isinstance(message.get("body"), dict):
        raise TransportError("message is not an object with a 'body'")
    sig = unhex(message.get("signature"), 65, "signature")
    if not _k1.verify65(enr_pubkey, sig, body_digest(message["body"])):
        raise TransportError("the message signature does not verify against the sender's ENR key")
    return message["body"]


def message_digest(message):
    """Digest of a whole signed message (body and signature): the transcript entry."""
    return hashlib.sha256(canonical(message)).digest()


def unhex(value, size=None, field="value"):
    if not isinstance(value, str):
        raise TransportError("%s must be a hex string" % field)
    text = value[2:] if value.startswith("0x") else value
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise TransportError("%s is not valid hex" % field)
    if size is not None and len(raw) != size:
        raise TransportError("%s must be %d bytes, got %d" % (field, size, len(raw)))
    return raw


def new_ephemeral_key():
    return _k1.generate_private_key()


def _pair_key(own_private, peer_public, eph_pub, recipient_pub, definition_hash, sender, recipient):
    cc = _deps.require("coincurve")
    hkdf_mod = _deps.require("cryptography.hazmat.primitives.kdf.hkdf")
    hashes = _deps.require("cryptography.hazmat.primitives.hashes")
    try:
        ikm = cc.PrivateKey(own_private).ecdh(bytes(peer_public))
    except Exception as exc:
        raise TransportError("ECDH failed: %s" % exc)
    info = SHARE_LABEL + definition_hash + sender.to_bytes(2, "big") + recipient.to_bytes(2, "big")
    return hkdf_mod.HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + recipient_pub, info=info).derive(ikm)


def _aad(definition_hash, sender, recipient, validator):
    return (SHARE_LABEL + definition_hash + sender.to_bytes(2, "big") + recipient.to_bytes(2, "big")
            + validator.to_bytes(4, "big"))


def _nonce(validator):
    return validator.to_bytes(12, "big")


def encrypt_shares(eph_private, recipient_pub, definition_hash, sender, recipient, shares):
    """Seal the 32-byte ``shares`` (one per validator) for ``recipient``; returns the concatenation."""
    aead = _deps.require("cryptography.hazmat.primitives.ciphers.aead")
    eph_pub = _k1.public_key(eph_private)
    recipient_pub = _k1.parse_public_key(recipient_pub)
    gcm = aead.AESGCM(_pair_key(eph_private, recipient_pub, eph_pub, recipient_pub, definition_hash, sender, recipient))
    out = bytearray()
    for v, share in enumerate(shares):
        out += gcm.encrypt(_nonce(v), bytes(share), _aad(definition_hash, sender, recipient, v))
    return bytes(out)


def decrypt_shares(recipient_private, eph_pub, definition_hash, sender, recipient, blob, count):
    """Open ``count`` shares sealed by ``encrypt_shares``; TransportError names the validator that fails."""
    aead = _deps.require("cryptography.hazmat.primitives.ciphers.aead")
    exceptions = _deps.require("cryptography.exceptions")
    if len(blob) != count * SHARE_CT_LEN:
        raise TransportError("encrypted shares are %d bytes, expected %d for %d validators"
                             % (len(blob), count * SHARE_CT_LEN, count))
    recipient_pub = _k1.public_key(recipient_private)
    eph_pub = _k1.parse_public_key(eph_pub)
    gcm = aead.AESGCM(_pair_key(recipient_private, eph_pub, eph_pub, recipient_pub, definition_hash, sender, recipient))
    out = []
    for v in range(count):
        ct = blob[v * SHARE_CT_LEN:(v + 1) * SHARE_CT_LEN]
        try:
            out.append(gcm.decrypt(_nonce(v), ct, _aad(definition_hash, sender, recipient, v)))
        except exceptions.InvalidTag:
            raise TransportError("the encrypted share for validator %d does not decrypt (wrong key or tampered)" % v)
    return out
