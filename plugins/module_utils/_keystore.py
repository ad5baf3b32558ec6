# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""EIP-2335 validator keystores exactly as charon writes and loads them (charon-formats.md §6).

charon (keystorev4 v1.4.1) writes pbkdf2-hmac-sha256 with c = 2^18, AES-128-CTR and a sha256
checksum; the loader also accepts scrypt.  Key derivation dominates the cost (~30 ms per key
at 2^18 rounds here), so ``encrypt_many``/``load_keystores`` spread it over processes.
Secrets and passwords are only ever returned to the caller, never put in exception text.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import os
import re
import secrets as _secrets
import unicodedata

from ansible_collections.dvops.charon.plugins.module_utils import _deps, _files
# One Go-JSON writer for every charon file (definitions, locks, keystores, deposit data).
from ansible_collections.dvops.charon.plugins.module_utils._cluster import go_json

DEFAULT_ROUNDS = 262144
DEFAULT_PATH = "m/12381/3600/0/0/0"
INSECURE_ROUNDS = 16
SCRYPT_R = 8
SCRYPT_P = 1
# A keystore from elsewhere must not make us allocate unbounded memory (128 * r * n bytes).
SCRYPT_MAX_MEMORY = 1 << 30
# ...nor derive for hours: pbkdf2 c up to 16x charon's 2^18 (~0.5 s per key here), scrypt work
# n*r*p up to 4x the EIP-2335 2^18*8*1, and a derived key of at most 64 bytes (32 are used; the
# cost of pbkdf2 grows with dklen/32).
PBKDF2_MAX_ROUNDS = 1 << 22
SCRYPT_MAX_WORK = (1 << 18) * 8 * 4
DKLEN_MAX = 64
MAX_FILE_BYTES = 1 << 20
KEYSTORE_RE = re.compile(r"^keystore-(?:insecure-)?([0-9]+)\.json$")
DIR_MODE = 0o755
KEYSTORE_MODE = 0o444
PASSWORD_MODE = 0o400


class KeystoreError(ValueError):
    """A keystore cannot be decrypted, parsed or written."""


def new_password():
    """charon's keystore password: hex of 16 random bytes (32 lowercase hex characters)."""
    return _secrets.token_hex(16)


def normalise_password(password):
    """EIP-2335 password bytes: NFKD, control codes C0 (U+0000-001F), DEL and C1 (U+0080-009F) removed, UTF-8.

    charon's own hex passwords are unaffected; a trailing newline in a .txt file is dropped too.
    """
    if isinstance(password, (bytes, bytearray)):
        try:
            password = bytes(password).decode("utf-8")
        except UnicodeDecodeError:
            raise KeystoreError("password is not valid UTF-8")
    if not isinstance(password, str):
        raise KeystoreError("password must be a string, got %s" % type(password).__name__)
    text = unicodedata.normalize("NFKD", password)
    return "".join(c for c in text if not (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F)).encode("utf-8")


# Primitives --------------------------------------------------------------------------------------

def _pbkdf2(password, salt, rounds, dklen):
    try:
        kdf_mod = _deps.require("cryptography.hazmat.primitives.kdf.pbkdf2")
        hashes = _deps.require("cryptography.hazmat.primitives.hashes")
    except _deps.MissingDependency:
        # hashlib is OpenSSL too, ~1.6x slower than cryptography's here but always present.
        return hashlib.pbkdf2_hmac("sha256", password, salt, rounds, dklen)
    return kdf_mod.PBKDF2HMAC(algorithm=hashes.SHA256(), length=dklen, salt=salt, iterations=rounds).derive(password)


def _scrypt(password, salt, n, r, p, dklen):
    need = 128 * r * (n + p + 2)
    if need > SCRYPT_MAX_MEMORY:
        raise KeystoreError("kdf.params: scrypt n=%d r=%d needs %d MiB, more than the %d MiB allowed"
                            % (n, r, need >> 20, SCRYPT_MAX_MEMORY >> 20))
    try:
        return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=need + (1 << 20))
    except ValueError as exc:
        raise KeystoreError("kdf.params: invalid scrypt parameters (%s)" % exc)


def _aes128ctr(key, iv, data):
    ciphers = _deps.require("cryptography.hazmat.primitives.ciphers")
    # The whole 16-byte IV is the initial counter block, incremented big-endian (EIP-2335).
    enc = ciphers.Cipher(ciphers.algorithms.AES(key), ciphers.modes.CTR(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def _uuid(raw16):
    # Go fmt "%X-%X-%X-%X-%X" over byte slices: uppercase, no RFC 4122 version bits.
    h = binascii.hexlify(raw16).decode().upper()
    return "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])


# Encrypt / decrypt ---------------------------------------------------------------------------------

def encrypt(secret, password, pubkey=None, kdf="pbkdf2", rounds=DEFAULT_ROUNDS, path=DEFAULT_PATH, uuid=None):
    """Keystore dict, in charon's key order, protecting the 32-byte ``secret``.

    ``pubkey`` (48 bytes) defaults to the BLS public key of ``secret``.  ``rounds`` is the pbkdf2
    ``c`` or the scrypt ``n``; tests pass small values, production keeps charon's 2^18.
    """
    if not isinstance(secret, (bytes, bytearray)) or len(secret) != 32:
        raise KeystoreError("secret must be 32 bytes")
    secret = bytes(secret)
    if pubkey is None:
        from ansible_collections.dvops.charon.plugins.module_utils import _bls  # pylint: disable=import-outside-toplevel
        pubkey = _bls.secret_to_public(_bls.sk_from_bytes(secret))
    if not isinstance(pubkey, (bytes, bytearray)) or len(pubkey) != 48:
        raise KeystoreError("pubkey must be 48 bytes")
    rounds = int(rounds)
    if rounds < 1:
        raise KeystoreError("rounds must be positive, got %d" % rounds)
    pw = normalise_password(password)
    salt = os.urandom(32)
    if kdf == "pbkdf2":
        dk = _pbkdf2(pw, salt, rounds, 32)
        kdf_module = {"function": "pbkdf2", "message": "",
                      "params": {"c": rounds, "dklen": 32, "prf": "hmac-sha256", "salt": salt.hex()}}
    elif kdf == "scrypt":
        if rounds & (rounds - 1) or rounds < 2:
            raise KeystoreError("scrypt n (rounds) must be a power of two, got %d" % rounds)
        dk = _scrypt(pw, salt, rounds, SCRYPT_R, SCRYPT_P, 32)
        kdf_module = {"function": "scrypt", "message": "",
                      "params": {"dklen": 32, "n": rounds, "p": SCRYPT_P, "r": SCRYPT_R, "salt": salt.hex()}}
    else:
        raise KeystoreError("kdf must be 'pbkdf2' or 'scrypt', got %r" % (kdf,))
    iv = os.urandom(16)
    ciphertext = _aes128ctr(dk[:16], iv, secret)
    checksum = hashlib.sha256(dk[16:32] + ciphertext).digest()
    return {
        "crypto": {
            "checksum": {"function": "sha256", "message": checksum.hex(), "params": {}},
            "cipher": {"function": "aes-128-ctr", "message": ciphertext.hex(), "params": {"iv": iv.hex()}},
            "kdf": kdf_module,
        },
        "description": "",
        "pubkey": bytes(pubkey).hex(),
        "path": path,
        "uuid": uuid if uuid is not None else _uuid(os.urandom(16)),
        "version": 4,
    }


def _module(crypto, name):
    module = crypto.get(name)
    if not isinstance(module, dict):
        raise KeystoreError("crypto.%s is missing or not an object" % name)
    params = module.get("params", {})
    if not isinstance(params, dict):
        raise KeystoreError("crypto.%s.params is not an object" % name)
    return module.get("function"), module.get("message", ""), params


def _hexfield(value, field, size=None):
    if not isinstance(value, str):
        raise KeystoreError("%s must be a hex string" % field)
    try:
        b = bytes.fromhex(value[2:] if value.startswith("0x") else value)
    except ValueError:
        raise KeystoreError("%s is not valid hex" % field)
    if size is not None and len(b) != size:
        raise KeystoreError("%s must be %d bytes, got %d" % (field, size, len(b)))
    return b


def _intparam(params, key, field):
    v = params.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise KeystoreError("%s.%s must be a positive integer" % (field, key))
    return v


def decrypt(keystore, password):
    """Secret bytes of a pbkdf2 or scrypt EIP-2335 keystore; KeystoreError('wrong password') on checksum mismatch."""
    if not isinstance(keystore, dict):
        raise KeystoreError("keystore must be a JSON object")
    if keystore.get("version") != 4:
        raise KeystoreError("version must be 4, got %r" % (keystore.get("version"),))
    crypto = keystore.get("crypto")
    if not isinstance(crypto, dict):
        raise KeystoreError("crypto is missing or not an object")
    kdf_fn, dummy, kdf_params = _module(crypto, "kdf")
    cs_fn, cs_msg, dummy = _module(crypto, "checksum")
    ci_fn, ci_msg, ci_params = _module(crypto, "cipher")
    if cs_fn != "sha256":
        raise KeystoreError("crypto.checksum.function %r is not supported (only sha256)" % (cs_fn,))
    if ci_fn != "aes-128-ctr":
        raise KeystoreError("crypto.cipher.function %r is not supported (only aes-128-ctr)" % (ci_fn,))
    checksum = _hexfield(cs_msg, "crypto.checksum.message", 32)
    ciphertext = _hexfield(ci_msg, "crypto.cipher.message")
    iv = _hexfield(ci_params.get("iv"), "crypto.cipher.params.iv", 16)
    salt = _hexfield(kdf_params.get("salt"), "crypto.kdf.params.salt")
    dklen = _intparam(kdf_params, "dklen", "crypto.kdf.params")
    if not 32 <= dklen <= DKLEN_MAX:
        raise KeystoreError("crypto.kdf.params.dklen must be 32 to %d, got %d" % (DKLEN_MAX, dklen))
    pw = normalise_password(password)
    if kdf_fn == "pbkdf2":
        if kdf_params.get("prf") != "hmac-sha256":
            raise KeystoreError("crypto.kdf.params.prf %r is not supported (only hmac-sha256)" % (kdf_params.get("prf"),))
        rounds = _intparam(kdf_params, "c", "crypto.kdf.params")
        if rounds > PBKDF2_MAX_ROUNDS:
            raise KeystoreError("crypto.kdf.params.c = %d is more than the %d pbkdf2 rounds allowed (charon uses %d)"
                                % (rounds, PBKDF2_MAX_ROUNDS, DEFAULT_ROUNDS))
        dk = _pbkdf2(pw, salt, rounds, dklen)
    elif kdf_fn == "scrypt":
        n, r, p = (_intparam(kdf_params, k, "crypto.kdf.params") for k in ("n", "r", "p"))
        if n * r * p > SCRYPT_MAX_WORK:
            raise KeystoreError("crypto.kdf.params.p/n/r: scrypt work n*r*p = %d is more than the %d allowed"
                                % (n * r * p, SCRYPT_MAX_WORK))
        dk = _scrypt(pw, salt, n, r, p, dklen)
    else:
        raise KeystoreError("crypto.kdf.function %r is not supported (pbkdf2 or scrypt)" % (kdf_fn,))
    if not hmac.compare_digest(hashlib.sha256(dk[16:32] + ciphertext).digest(), checksum):
        raise KeystoreError("wrong password (keystore checksum mismatch)")
    return _aes128ctr(dk[:16], iv, ciphertext)


# JSON ------------------------------------------------------------------------------------------

_TOP_ORDER = ("crypto", "description", "pubkey", "path", "uuid", "version")


def _sorted_map(value):
    if isinstance(value, dict):
        return {k: _sorted_map(value[k]) for k in sorted(value)}
    return value


def canonical(keystore):
    """Copy in charon's field order: struct fields in declaration order, the crypto map sorted."""
    out = {}
    for key in _TOP_ORDER:
        if key in keystore:
            out[key] = _sorted_map(keystore[key]) if key == "crypto" else keystore[key]
    return out


def marshal(keystore):
    """The bytes charon writes for a keystore."""
    return go_json(canonical(keystore))


# Bulk ------------------------------------------------------------------------------------------

def _encrypt_job(args):
    secret, password, rounds = args
    return encrypt(secret, password, rounds=rounds)


def _decrypt_job(args):
    keystore, password = args
    return decrypt(keystore, password)


def _parallel_map(func, jobs, workers=None):
    """``map(func, jobs)`` over forked worker processes (the KDFs hold the GIL), serial as fallback."""
    jobs = list(jobs)
    if workers is None:
        workers = os.cpu_count() or 1
    workers = min(int(workers), len(jobs))
    if workers <= 1:
        return [func(j) for j in jobs]
    try:
        import multiprocessing  # pylint: disable=import-outside-toplevel
        from concurrent.futures import ProcessPoolExecutor  # pylint: disable=import-outside-toplevel
        ctx = multiprocessing.get_context("fork")
    except (ImportError, ValueError):
        return [func(j) for j in jobs]
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            return list(pool.map(func, jobs, chunksize=max(1, len(jobs) // (workers * 4))))
    except (OSError, RuntimeError):
        # No usable process pool (sandbox, broken worker): same result, serially.
        return [func(j) for j in jobs]


def encrypt_many(secrets_, rounds=DEFAULT_ROUNDS, workers=None, passwords=None):
    """Encrypt many 32-byte secrets in parallel: a list of ``(keystore_dict, password)`` in input order.

    New charon-style passwords are generated unless ``passwords`` is given.  ``workers``
    defaults to the CPU count (1 = serial).
    """
    secrets_ = [_secret_bytes(s, i) for i, s in enumerate(secrets_)]
    if passwords is None:
        passwords = [new_password() for dummy in secrets_]
    passwords = list(passwords)
    if len(passwords) != len(secrets_):
        raise KeystoreError("passwords: %d given for %d secrets" % (len(passwords), len(secrets_)))
    keystores = _parallel_map(_encrypt_job, [(s, p, rounds) for s, p in zip(secrets_, passwords)], workers)
    return list(zip(keystores, passwords))


def _secret_bytes(secret, i):
    from ansible_collections.dvops.charon.plugins.module_utils import _bls  # pylint: disable=import-outside-toplevel
    try:
        if isinstance(secret, int) and not isinstance(secret, bool):
            return _bls.sk_to_bytes(secret)
        _bls.sk_from_bytes(secret)
        return bytes(secret)
    except _bls.BLSError as exc:
        raise KeystoreError("secrets[%d]: %s" % (i, exc))


def write_keystores(directory, secrets_, owner=None, group=None, rounds=DEFAULT_ROUNDS, workers=None, insecure=False):
    """Write charon's ``keystore-<i>.json`` (0444) and ``keystore-<i>.txt`` (0400) into ``directory``.

    ``directory`` (charon's ``validator_keys``) is created 0755 and must be absent or empty, so
    existing keys are never touched.  ``insecure`` mimics ``create cluster --insecure-keys``
    (``keystore-insecure-<i>``, c = 16) for test clusters.  Returns the JSON paths in index order.
    """
    if insecure:
        rounds = INSECURE_ROUNDS
    if os.path.lexists(directory):
        if not os.path.isdir(directory):
            raise KeystoreError("%s exists and is not a directory" % directory)
        if os.listdir(directory):
            raise KeystoreError("%s is not empty; refusing to write keystores into it" % directory)
    else:
        _files.ensure_dir(directory, mode=DIR_MODE, owner=owner, group=group)
    encrypted = encrypt_many(secrets_, rounds=rounds, workers=workers)
    paths = []
    for i, (keystore, password) in enumerate(encrypted):
        base = os.path.join(directory, ("keystore-insecure-%d" if insecure else "keystore-%d") % i)
        # Password first: a keystore that exists always has its password next to it.
        _files.write_new(base + ".txt", password.encode("ascii"), mode=PASSWORD_MODE, owner=owner, group=group)
        _files.write_new(base + ".json", marshal(keystore), mode=KEYSTORE_MODE, owner=owner, group=group)
        paths.append(base + ".json")
    return paths


def load_keystores(directory, workers=None, require_sequential=True):
    """``[(index, secret_bytes, pubkey48)]`` sorted by index, as charon's loader reads ``validator_keys``.

    Globs ``keystore-*.json``; the index comes from ``keystore-(?:insecure-)?<i>.json`` and the
    password from the ``.txt`` of the same name.  With ``require_sequential`` the indices must be
    0..n-1 (charon maps them to the lock's validators in that order).
    """
    from ansible_collections.dvops.charon.plugins.module_utils import _bls  # pylint: disable=import-outside-toplevel
    if not os.path.isdir(directory):
        raise KeystoreError("%s is not a directory" % directory)
    entries = {}
    for name in sorted(os.listdir(directory)):
        if not (name.startswith("keystore-") and name.endswith(".json")):
            continue
        path = os.path.join(directory, name)
        m = KEYSTORE_RE.match(name)
        if not m:
            raise KeystoreError("%s: file name does not match keystore-[insecure-]<index>.json" % path)
        index = int(m.group(1))
        if index in entries:
            raise KeystoreError("%s: index %d is used by %s too" % (path, index, entries[index][0]))
        # Never through a link, never blocking on a FIFO; a keystore is ~1 KiB.
        try:
            keystore = _files.loads_json(_files.read_regular(path, MAX_FILE_BYTES))
        except _files.UnsafePath as exc:
            raise KeystoreError(str(exc))
        except (OSError, ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise KeystoreError("%s: cannot read keystore JSON (%s)" % (path, reason))
        pw_path = path[:-len(".json")] + ".txt"
        try:
            password = _files.read_regular(pw_path, MAX_FILE_BYTES)
        except _files.UnsafePath as exc:
            raise KeystoreError("%s: its password file: %s" % (path, exc))
        except OSError as exc:
            raise KeystoreError("%s: cannot read its password file %s (%s)" % (path, pw_path, exc.strerror))
        entries[index] = (path, keystore, password)
    if not entries:
        raise KeystoreError("%s: no keystore-*.json files" % directory)
    indices = sorted(entries)
    if require_sequential and indices != list(range(len(indices))):
        missing = sorted(set(range(max(indices) + 1)) - set(indices))
        raise KeystoreError("%s: keystore indices must be 0..%d, missing %s" % (directory, len(indices) - 1, missing))
    jobs = [(entries[i][1], entries[i][2]) for i in indices]
    try:
        secrets_ = _parallel_map(_decrypt_job, jobs, workers)
    except KeystoreError:
        secrets_ = None  # find which file failed, serially, to name it
    out = []
    for n, i in enumerate(indices):
        path, keystore, password = entries[i]
        try:
            secret = secrets_[n] if secrets_ is not None else decrypt(keystore, password)
            pubkey = _bls.secret_to_public(_bls.sk_from_bytes(secret))
        except (KeystoreError, _bls.BLSError) as exc:
            raise KeystoreError("%s: %s" % (path, exc))
        declared = keystore.get("pubkey") or ""
        if declared and declared.lower().replace("0x", "") != pubkey.hex():
            raise KeystoreError("%s: pubkey field does not match the decrypted secret" % path)
        out.append((i, secret, pubkey))
    return out
