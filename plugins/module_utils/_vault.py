# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Ansible vault 1.1 (AES256) for node-key backups, and the sealed box that carries a backup to the controller.

Key material leaves the host only sealed to a one-time key of the controller, so it never travels in the
clear; ``ansible-vault decrypt`` (or ``ansible.parsing.vault.VaultLib``) reads the result.

Format (as ``ansible.parsing.vault.VaultAES256``):
- PBKDF2-HMAC-SHA256(password, 32-byte salt, 10000 iterations) -> 80 bytes:
  AES key (32) | HMAC key (32) | CTR initial counter (16);
- PKCS#7-padded plaintext, AES-256-CTR; HMAC-SHA256 over the ciphertext;
- body = hex(salt) "\\n" hex(hmac) "\\n" hex(ciphertext), hexlified once more, 80-column lines,
  after the header ``$ANSIBLE_VAULT;1.1;AES256`` and ending with a newline.

The vault password never goes to the host: the host seals the tar to a one-time X25519 public key
of the controller (``seal``), and the controller, which holds the password, opens it in memory
(``open_sealed``) and writes the vault text (``encrypt``). Sealed box: ``SEAL_MAGIC`` | ephemeral
X25519 public key (32) | nonce (12) | AES-256-GCM ciphertext+tag, the key from HKDF-SHA256 over the
X25519 shared secret with info = ``SEAL_INFO`` | recipient public key | ephemeral public key, and
the same bytes as additional data.
"""

from __future__ import annotations

import binascii
import hmac as _hmac
import os

from ansible_collections.dvops.charon.plugins.module_utils._deps import require

HEADER = "$ANSIBLE_VAULT"
VERSION = "1.1"
CIPHER = "AES256"
ITERATIONS = 10000
SALT_LEN = 32
SEAL_MAGIC = b"DVB1"
SEAL_INFO = b"dvops-charon-backup-seal-v1"
X25519_LEN = 32
NONCE_LEN = 12


class VaultError(ValueError):
    """Malformed vault text or wrong password."""


def _b(value):
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _derive(password, salt):
    kdf_mod = require("cryptography.hazmat.primitives.kdf.pbkdf2")
    hashes = require("cryptography.hazmat.primitives.hashes")
    kdf = kdf_mod.PBKDF2HMAC(algorithm=hashes.SHA256(), length=80, salt=salt, iterations=ITERATIONS)
    key = kdf.derive(_b(password))
    return key[:32], key[32:64], key[64:80]


def _cipher(key, iv):
    ciphers = require("cryptography.hazmat.primitives.ciphers")
    return ciphers.Cipher(ciphers.algorithms.AES(key), ciphers.modes.CTR(iv))


def _mac(key, data):
    hmac_mod = require("cryptography.hazmat.primitives.hmac")
    hashes = require("cryptography.hazmat.primitives.hashes")
    h = hmac_mod.HMAC(key, hashes.SHA256())
    h.update(data)
    return h.finalize()


def encrypt(plaintext, password, salt=None):
    """Return the vault text (str) of ``plaintext`` (bytes) under ``password`` (str/bytes)."""
    if not password:
        raise VaultError("an empty vault password is not allowed")
    padding = require("cryptography.hazmat.primitives.padding")
    salt = os.urandom(SALT_LEN) if salt is None else bytes(salt)
    if not salt:
        raise VaultError("empty salt")
    key1, key2, iv = _derive(password, salt)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(_b(plaintext)) + padder.finalize()
    encryptor = _cipher(key1, iv).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    body = b"\n".join([binascii.hexlify(salt), binascii.hexlify(_mac(key2, ciphertext)), binascii.hexlify(ciphertext)])
    hexed = binascii.hexlify(body).decode("ascii")
    lines = ["%s;%s;%s" % (HEADER, VERSION, CIPHER)] + [hexed[i:i + 80] for i in range(0, len(hexed), 80)]
    return "\n".join(lines) + "\n"


def decrypt(vaulttext, password):
    """Return the plaintext bytes of a vault 1.1/1.2 AES256 text; VaultError when it does not verify."""
    lines = _b(vaulttext).decode("ascii", "strict").strip().splitlines()
    if not lines:
        raise VaultError("empty vault text")
    header = lines[0].strip().split(";")
    if len(header) < 3 or header[0] != HEADER or header[1] not in ("1.1", "1.2") or header[2].strip() != CIPHER:
        raise VaultError("not an Ansible vault 1.1/1.2 AES256 text")
    try:
        body = binascii.unhexlify("".join(line.strip() for line in lines[1:]))
        salt_hex, mac_hex, ct_hex = body.split(b"\n", 2)
        salt, mac, ciphertext = binascii.unhexlify(salt_hex), binascii.unhexlify(mac_hex), binascii.unhexlify(ct_hex)
    except (binascii.Error, ValueError) as exc:
        raise VaultError("malformed vault body: %s" % exc)
    key1, key2, iv = _derive(password, salt)
    if not _hmac.compare_digest(_mac(key2, ciphertext), mac):
        raise VaultError("HMAC mismatch: wrong vault password or corrupted text")
    decryptor = _cipher(key1, iv).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    padding = require("cryptography.hazmat.primitives.padding")
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise VaultError("bad padding: %s" % exc)


def password_verifier(password, salt=None):
    """``pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>``: tells whether a backup was made with ``password``.

    Kept beside a backup: a password that does not match it may not replace the backup (a typo would
    otherwise leave the only copy under a password nobody knows). It allows no more guessing than
    the vault file itself (the same KDF and iteration count).
    """
    salt = os.urandom(16) if salt is None else bytes(salt)
    kdf_mod = require("cryptography.hazmat.primitives.kdf.pbkdf2")
    hashes = require("cryptography.hazmat.primitives.hashes")
    kdf = kdf_mod.PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=ITERATIONS)
    return "pbkdf2-sha256$%d$%s$%s" % (ITERATIONS, binascii.hexlify(salt).decode(), binascii.hexlify(kdf.derive(_b(password))).decode())


def verifier_matches(password, verifier):
    """True when ``verifier`` (from password_verifier) was made with ``password``; False when malformed."""
    try:
        scheme, iterations, salt_hex, hash_hex = (verifier or "").strip().split("$")
        if scheme != "pbkdf2-sha256" or int(iterations) != ITERATIONS:
            return False
        salt = binascii.unhexlify(salt_hex)
    except (ValueError, binascii.Error):
        return False
    return _hmac.compare_digest(password_verifier(password, salt=salt), verifier.strip())


def _seal_key(shared, recipient_pub, ephemeral_pub):
    hkdf_mod = require("cryptography.hazmat.primitives.kdf.hkdf")
    hashes = require("cryptography.hazmat.primitives.hashes")
    info = SEAL_INFO + recipient_pub + ephemeral_pub
    return hkdf_mod.HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared), info


def new_recipient():
    """Return (private key object, raw 32-byte public key) of a one-time X25519 key (controller side)."""
    x25519 = require("cryptography.hazmat.primitives.asymmetric.x25519")
    serialization = require("cryptography.hazmat.primitives.serialization")
    private = x25519.X25519PrivateKey.generate()
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private, public


def seal(plaintext, recipient_pub):
    """Encrypt ``plaintext`` (bytes) to the raw X25519 public key ``recipient_pub`` (host side); bytes."""
    recipient_pub = bytes(recipient_pub)
    if len(recipient_pub) != X25519_LEN:
        raise VaultError("the recipient key must be %d bytes, got %d" % (X25519_LEN, len(recipient_pub)))
    x25519 = require("cryptography.hazmat.primitives.asymmetric.x25519")
    serialization = require("cryptography.hazmat.primitives.serialization")
    aead = require("cryptography.hazmat.primitives.ciphers.aead")
    ephemeral = x25519.X25519PrivateKey.generate()
    ephemeral_pub = ephemeral.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        shared = ephemeral.exchange(x25519.X25519PublicKey.from_public_bytes(recipient_pub))
    except ValueError as exc:
        raise VaultError("the recipient key is not a usable X25519 public key: %s" % exc)
    key, info = _seal_key(shared, recipient_pub, ephemeral_pub)
    nonce = os.urandom(NONCE_LEN)
    return SEAL_MAGIC + ephemeral_pub + nonce + aead.AESGCM(key).encrypt(nonce, _b(plaintext), info)


def open_sealed(blob, private):
    """Plaintext of a ``seal`` output for the X25519 private key object ``private``; VaultError if it does not verify."""
    x25519 = require("cryptography.hazmat.primitives.asymmetric.x25519")
    serialization = require("cryptography.hazmat.primitives.serialization")
    aead = require("cryptography.hazmat.primitives.ciphers.aead")
    exceptions = require("cryptography.exceptions")
    blob = bytes(blob)
    head = len(SEAL_MAGIC) + X25519_LEN + NONCE_LEN
    if len(blob) < head + 16 or not blob.startswith(SEAL_MAGIC):
        raise VaultError("not a sealed backup")
    ephemeral_pub = blob[len(SEAL_MAGIC):len(SEAL_MAGIC) + X25519_LEN]
    nonce = blob[len(SEAL_MAGIC) + X25519_LEN:head]
    recipient_pub = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        shared = private.exchange(x25519.X25519PublicKey.from_public_bytes(ephemeral_pub))
    except ValueError as exc:
        raise VaultError("sealed backup: bad ephemeral key: %s" % exc)
    key, info = _seal_key(shared, recipient_pub, ephemeral_pub)
    try:
        return aead.AESGCM(key).decrypt(nonce, blob[head:], info)
    except exceptions.InvalidTag:
        raise VaultError("sealed backup does not verify (altered in transit, or sealed to another key)")
