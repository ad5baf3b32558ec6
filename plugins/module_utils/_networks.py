# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Ethereum networks as charon knows them (``eth2util/network.go``, charon-formats.md §11).

A definition names its network only through the 4-byte genesis ``fork_version``; the EIP-712
chain id, the builder-registration timestamp (genesis time), the deposit domain and the exit
domain (Capella fork version) all follow from it.  ``holesky`` exists only in the v1.10.x
release line (removed in v1.11.0-rc1), hence the ``release`` parameter of the lookups.
Custom networks (charon's ``--testnet-*`` flags) are added with ``register_network``.

Each built-in network also pins its beacon chain's ``genesis_validators_root`` (the exit domain
mixes it in, so a beacon node reporting another one is on another chain: ``dv_exit`` refuses it
instead of trusting the node) and its ``slots_per_epoch`` (for the current-epoch estimate).
mainnet, sepolia, holesky and hoodi are as in go-ethereum v1.17.4 ``beacon/params/networks.go``
(holesky's also as in charon's own beacon mock); goerli, gnosis and chiado as published in the
clients' built-in network configs.  Custom networks have none unless given.
"""

from __future__ import annotations

import copy

# Release lines: "v1.10" (latest stable, v1.10.x) and "v1.11" (main / v1.11.0-rc*).
DEFAULT_RELEASE = "v1.10"


class NetworkError(ValueError):
    """Unknown network name or fork version, or a malformed custom network."""


class Network(object):
    """One network row (immutable by convention)."""

    __slots__ = ("name", "chain_id", "genesis_fork_version", "capella_fork_version",
                 "genesis_time", "slot_seconds", "capella_epoch", "releases", "genesis_validators_root",
                 "slots_per_epoch")

    def __init__(self, name, chain_id, genesis_fork_version, capella_fork_version, genesis_time,
                 slot_seconds=12, capella_epoch=None, releases=None, genesis_validators_root=None,
                 slots_per_epoch=32):
        self.name = name
        self.chain_id = int(chain_id)
        self.genesis_fork_version = fork_version_bytes(genesis_fork_version, "genesis_fork_version")
        self.capella_fork_version = fork_version_bytes(capella_fork_version, "capella_fork_version")
        self.genesis_time = int(genesis_time)
        self.slot_seconds = int(slot_seconds)
        self.capella_epoch = None if capella_epoch is None else int(capella_epoch)
        # None: every release line knows the network.
        self.releases = None if releases is None else tuple(releases)
        # None: not pinned (custom networks); the beacon node's answer is then taken as is.
        self.genesis_validators_root = (None if genesis_validators_root is None
                                        else root_bytes(genesis_validators_root, "genesis_validators_root"))
        self.slots_per_epoch = int(slots_per_epoch)
        if self.slot_seconds <= 0 or self.slots_per_epoch <= 0:
            raise NetworkError("%s: slot_seconds and slots_per_epoch must be positive" % name)

    def current_epoch(self, now):
        """The epoch at unix time ``now`` by the wall clock (0 before genesis).

        ``genesis_time`` is charon's for the network (within minutes of the beacon chain's), so
        this is an estimate good to a couple of epochs: enough to tell a far-future epoch.
        """
        elapsed = int(now) - self.genesis_time
        return max(0, elapsed) // (self.slot_seconds * self.slots_per_epoch)

    @property
    def fork_version_hex(self):
        """Lookup key: lowercase ``0x`` text of the genesis fork version."""
        return "0x" + self.genesis_fork_version.hex()

    def as_dict(self):
        return {
            "name": self.name,
            "chain_id": self.chain_id,
            "genesis_fork_version": self.fork_version_hex,
            "capella_fork_version": "0x" + self.capella_fork_version.hex(),
            "genesis_time": self.genesis_time,
            "slot_seconds": self.slot_seconds,
            "capella_epoch": self.capella_epoch,
            "genesis_validators_root": (None if self.genesis_validators_root is None
                                        else "0x" + self.genesis_validators_root.hex()),
            "slots_per_epoch": self.slots_per_epoch,
        }

    def __repr__(self):
        return "Network(%r, chain_id=%d, fork=%s)" % (self.name, self.chain_id, self.fork_version_hex)


def _hex_bytes(value, size, field, what):
    """``size`` bytes from ``bytes`` or ``"0x…"``/bare hex text of either case; errors name ``field``."""
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    else:
        text = str(value).strip()
        if text[:2] in ("0x", "0X"):
            text = text[2:]
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise NetworkError("%s: %r is not hex" % (field, value))
    if len(raw) != size:
        raise NetworkError("%s: %s is %d bytes, got %d" % (field, what, size, len(raw)))
    return raw


def fork_version_bytes(value, field="fork_version"):
    """4 bytes from ``bytes`` or ``"0x…"``/bare hex text of either case."""
    return _hex_bytes(value, 4, field, "a fork version")


def root_bytes(value, field="genesis_validators_root"):
    """32 bytes from ``bytes`` or ``"0x…"``/bare hex text."""
    return _hex_bytes(value, 32, field, "a root")


_BUILTIN = [
    Network("mainnet", 1, "0x00000000", "0x03000000", 1606824023, 12, 194048,
            genesis_validators_root="0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95"),
    Network("goerli", 5, "0x00001020", "0x03001020", 1616508000, 12, 162304,
            genesis_validators_root="0x043db0d9a83813551ee2f33450d23797757d430911a9320530ad8a0eabc43efb"),
    Network("gnosis", 100, "0x00000064", "0x03000064", 1638993340, 5, slots_per_epoch=16,
            genesis_validators_root="0xf5dcb5564e829aab27264b9becd5dfaa017085611224cb3036f573368dbb9d47"),
    Network("chiado", 10200, "0x0000006f", "0x0300006f", 1665396300, 5, slots_per_epoch=16,
            genesis_validators_root="0x9d642dac73058fbf39c0ae41ab1e34e4d889043cb199851ded7095bc99eb4c1e"),
    Network("sepolia", 11155111, "0x90000069", "0x90000072", 1655733600, 12,
            genesis_validators_root="0xd8ea171f3c94aea21ebc42a1ed61052acf3f9209c00e4efbaaddac09ed9b8078"),
    Network("hoodi", 560048, "0x10000910", "0x40000910", 1742213400, 12, 256,
            genesis_validators_root="0x212f13fc4df078b6cb7db228f1c8307566dcecf900867401a92023d7ba99cb5f"),
    Network("holesky", 17000, "0x01017000", "0x04017000", 1696000704, 12, releases=("v1.10",),
            genesis_validators_root="0x9143aa7c615a7f7115e2b6aac319c03529df8242ae705fba9df39b79c59fa8b1"),
]

ALIASES = {"prater": "goerli"}

_custom = []


def _release_line(release):
    """``"v1.10.3"``/``"1.10"``/``"v1.11.0-rc3"`` -> ``"v1.10"``/``"v1.11"`` (None -> default)."""
    if release is None:
        return DEFAULT_RELEASE
    text = str(release).strip().lstrip("vV")
    parts = text.split(".")
    if len(parts) < 2 or not parts[0].isdigit():
        raise NetworkError("release: %r is not a charon version such as v1.10.3" % (release,))
    minor = "".join(ch for ch in parts[1] if ch.isdigit())
    return "v%d.%d" % (int(parts[0]), int(minor or 0))


def _known_in(network, release):
    return network.releases is None or _release_line(release) in network.releases


def networks(release=None):
    """All networks known to ``release`` (built-in first, then custom ones)."""
    return [n for n in _BUILTIN + _custom if _known_in(n, release)]


def names(release=None):
    return [n.name for n in networks(release)]


def by_name(name, release=None):
    """Network called ``name`` (case-insensitive; ``prater`` means goerli)."""
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    for net in networks(release):
        if net.name == key:
            return net
    raise NetworkError("unknown network %r (known: %s)" % (name, ", ".join(names(release))))


def by_fork_version(fork_version, release=None):
    """Network whose genesis fork version is ``fork_version`` (bytes or hex text, any case)."""
    raw = fork_version_bytes(fork_version)
    for net in networks(release):
        if net.genesis_fork_version == raw:
            return net
    raise NetworkError("unknown fork version 0x%s: not a network charon %s knows; register it as a custom network"
                       % (raw.hex(), _release_line(release)))


def chain_id(fork_version, release=None):
    """EIP-712 chain id for a definition's fork version."""
    return by_fork_version(fork_version, release).chain_id


def register_network(name, chain_id, genesis_fork_version, capella_fork_version, genesis_time,
                     slot_seconds=12, capella_epoch=None, genesis_validators_root=None, slots_per_epoch=32):
    """Add a custom network (charon ``--testnet-*``); replaces an earlier custom one of that name.

    A built-in name or fork version cannot be shadowed: that would silently change the
    domains of real signatures.
    """
    if not name or not str(name).strip():
        raise NetworkError("name: a custom network needs a name")
    net = Network(str(name).strip().lower(), chain_id, genesis_fork_version, capella_fork_version,
                  genesis_time, slot_seconds, capella_epoch, genesis_validators_root=genesis_validators_root,
                  slots_per_epoch=slots_per_epoch)
    for builtin in _BUILTIN:
        if builtin.name == net.name or builtin.genesis_fork_version == net.genesis_fork_version:
            raise NetworkError("custom network %r clashes with the built-in network %s" % (name, builtin.name))
    _custom[:] = [c for c in _custom if c.name != net.name and c.genesis_fork_version != net.genesis_fork_version]
    _custom.append(net)
    return net


def unregister_network(name):
    _custom[:] = [c for c in _custom if c.name != str(name).strip().lower()]


def clear_custom_networks():
    del _custom[:]


def builtin_networks():
    return [copy.copy(n) for n in _BUILTIN]
