# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""EIP-2335 validator keystores exactly as charon writes and loads them (charon-formats.md §6)."""

from __future__ import annotations

DEFAULT_ROUNDS = 262144
DEFAULT_PATH = "m/12381/3600/0/0/0"


class KeystoreError(ValueError):
    """A keystore cannot be decrypted, parsed or written."""


def new_password():
    """charon's keystore password: hex of 16 random bytes (32 lowercase hex characters)."""
    raise NotImplementedError


def normalise_password(password):
    """EIP-2335 password bytes: NFKD, C0/C1/DEL stripped, UTF-8."""
    raise NotImplementedError


def encrypt(secret, password, pubkey=None, kdf="pbkdf2", rounds=DEFAULT_ROUNDS, path=DEFAULT_PATH, uuid=None):
    """Keystore dict (charon's key order) protecting the 32-byte ``secret``."""
    raise NotImplementedError


def encrypt_many(secrets_, rounds=DEFAULT_ROUNDS, workers=None):
    """Encrypt many secrets in parallel; returns a list of (keystore_dict, password)."""
    raise NotImplementedError


def decrypt(keystore, password):
    """Secret bytes (32) of a pbkdf2 or scrypt keystore; KeystoreError('wrong password') on checksum mismatch."""
    raise NotImplementedError


def marshal(keystore):
    """Go MarshalIndent(v, "", " ") bytes, no trailing newline."""
    raise NotImplementedError


def write_keystores(directory, secrets_, owner=None, group=None, rounds=DEFAULT_ROUNDS):
    """Write keystore-<i>.json (0444) + keystore-<i>.txt (0400) into ``directory`` (absent or empty)."""
    raise NotImplementedError


def load_keystores(directory):
    """[(index, secret_bytes, pubkey48)] sorted by index, as charon's loader reads them."""
    raise NotImplementedError
