# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""SSZ hashing with fastssz v1.0.0 ``Hasher`` semantics, as charon uses it (charon-formats.md §3.1).

The buffer behaviour is copied exactly (``b""`` appends nothing, containers are merkleized to
the number of chunks present) because the v1.0-v1.4 cluster hashes depend on it.  The helpers
at the bottom are charon's ``cluster/helpers.go`` on top of the hasher, plus the plain SSZ
containers the consensus spec needs (fork data, signing data).
"""

from __future__ import annotations

import hashlib


def sha256(data):
    return hashlib.sha256(data).digest()


ZERO_HASHES = [bytes(32)]
for _ in range(64):
    ZERO_HASHES.append(sha256(ZERO_HASHES[-1] + ZERO_HASHES[-1]))


class SSZError(ValueError):
    """A value does not fit its SSZ type (too long, wrong size)."""


def merkle_root(data, limit=0):
    """Root of ``data`` (a multiple of 32 bytes) as a tree of ``limit`` leaves (0: sized to the data)."""
    count = len(data) // 32
    if limit == 0:
        limit = count
    elif count > limit:
        raise SSZError("too many chunks: %d > limit %d" % (count, limit))
    if limit == 0:
        return bytes(32)
    if limit == 1:
        return bytes(data[:32]) if count == 1 else bytes(32)
    depth = (limit - 1).bit_length()
    if count == 0:
        return ZERO_HASHES[depth]
    layer = [bytes(data[i:i + 32]) for i in range(0, len(data), 32)]
    for d in range(depth):
        if len(layer) % 2:
            layer.append(ZERO_HASHES[d])
        layer = [sha256(layer[j] + layer[j + 1]) for j in range(0, len(layer), 2)]
    return layer[0]


class Hasher(object):
    """fastssz's Hasher: a byte buffer of 32-byte chunks, merkleized in place."""

    def __init__(self):
        self.buf = bytearray()

    def index(self):
        return len(self.buf)

    def append32(self, b):
        self.buf += b + bytes(-len(b) % 32)

    def put_bytes(self, b):
        if len(b) <= 32:
            self.append32(b)
        else:
            i = self.index()
            self.append32(b)
            self.merkleize(i)

    def put_uint64(self, x):
        self.append32(int(x).to_bytes(8, "little"))

    def put_bool(self, v):
        self.buf += (b"\x01" if v else b"\x00") + bytes(31)

    def put_root(self, root):
        """Append an already computed 32-byte root (a nested container's hash)."""
        if len(root) != 32:
            raise SSZError("a root is 32 bytes, got %d" % len(root))
        self.buf += root

    def merkleize(self, i):
        r = merkle_root(bytes(self.buf[i:]), 0)
        del self.buf[i:]
        self.buf += r

    def merkleize_with_mixin(self, i, num, limit):
        self.buf += bytes(-len(self.buf) % 32)
        r = merkle_root(bytes(self.buf[i:]), limit)
        del self.buf[i:]
        self.buf += sha256(r + int(num).to_bytes(8, "little") + bytes(24))

    def hash_root(self):
        if len(self.buf) != 32:
            raise SSZError("hasher holds %d bytes, not one root" % len(self.buf))
        return bytes(self.buf)

    # charon's cluster/helpers.go -------------------------------------------------------------

    def put_byte_list(self, b, max_len):
        """``ByteList[max_len]``."""
        if len(b) > max_len:
            raise SSZError("byte list of %d bytes exceeds its limit %d" % (len(b), max_len))
        i = self.index()
        self.append32(b)
        self.merkleize_with_mixin(i, len(b), (max_len + 31) // 32)

    def put_bytes_n(self, b, n):
        """``ByteVector[n]``; shorter input is LEFT-padded with zeros (empty -> all zeros)."""
        if len(b) > n:
            raise SSZError("%d bytes do not fit a %d-byte vector" % (len(b), n))
        self.put_bytes(bytes(n - len(b)) + b)

    def put_hex_bytes20(self, b):
        """``Bytes20`` from decoded bytes: empty -> 20 zero bytes, else exactly 20 bytes."""
        if len(b) == 0:
            b = bytes(20)
        if len(b) != 20:
            raise SSZError("an address is 20 bytes, got %d" % len(b))
        self.put_bytes(b)

    def put_k1_sig_list(self, sig, limit=32):
        """``List[Bytes65, limit]`` from concatenated 65-byte signatures (charon v1.11+)."""
        if len(sig) % 65:
            raise SSZError("signature length %d is not a multiple of 65" % len(sig))
        n = len(sig) // 65
        if n > limit:
            raise SSZError("%d signatures exceed the limit %d" % (n, limit))
        i = self.index()
        for k in range(n):
            self.put_bytes(sig[65 * k:65 * (k + 1)])
        self.merkleize_with_mixin(i, n, limit)

    def put_uint64_list(self, values, limit):
        """``List[uint64, limit]`` (fastssz PutUint64Array)."""
        if len(values) > limit:
            raise SSZError("%d values exceed the limit %d" % (len(values), limit))
        i = self.index()
        data = b"".join(int(v).to_bytes(8, "little") for v in values)
        self.append32(data)
        self.merkleize_with_mixin(i, len(values), (limit * 8 + 31) // 32)


# Plain SSZ helpers for consensus-spec containers ---------------------------------------------

def uint64_root(x):
    return int(x).to_bytes(8, "little") + bytes(24)


def container_root(field_roots):
    """hash_tree_root of a container whose fields' roots are given in order."""
    return merkle_root(b"".join(field_roots), 0)


def bytes_vector_root(b):
    """hash_tree_root of a fixed-size byte vector (Bytes4/20/32/48/96)."""
    h = Hasher()
    h.put_bytes(bytes(b))
    return h.hash_root()


def fork_data_root(current_version, genesis_validators_root):
    """hash_tree_root(ForkData{current_version Bytes4, genesis_validators_root Bytes32})."""
    return container_root([bytes_vector_root(current_version), bytes(genesis_validators_root)])


def compute_domain(domain_type, fork_version, genesis_validators_root=bytes(32)):
    """consensus-spec compute_domain: domain_type (4 bytes) + fork_data_root[:28]."""
    return bytes(domain_type) + fork_data_root(fork_version, genesis_validators_root)[:28]


def signing_root(object_root, domain):
    """hash_tree_root(SigningData{object_root, domain})."""
    return container_root([bytes(object_root), bytes(domain)])
