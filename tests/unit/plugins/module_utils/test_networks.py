# -*- coding: utf-8 -*-
"""_networks: charon's network table (§11), lookups, release lines, custom networks."""

from __future__ import annotations

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _networks as N


@pytest.fixture(autouse=True)
def _no_custom():
    N.clear_custom_networks()
    yield
    N.clear_custom_networks()


@pytest.mark.parametrize("name,chain,fork,capella,genesis,slot", [
    ("mainnet", 1, "0x00000000", "0x03000000", 1606824023, 12),
    ("goerli", 5, "0x00001020", "0x03001020", 1616508000, 12),
    ("gnosis", 100, "0x00000064", "0x03000064", 1638993340, 5),
    ("chiado", 10200, "0x0000006f", "0x0300006f", 1665396300, 5),
    ("sepolia", 11155111, "0x90000069", "0x90000072", 1655733600, 12),
    ("hoodi", 560048, "0x10000910", "0x40000910", 1742213400, 12),
    ("holesky", 17000, "0x01017000", "0x04017000", 1696000704, 12),
])
def test_table(name, chain, fork, capella, genesis, slot):
    net = N.by_name(name, release="v1.10.3")
    assert (net.chain_id, net.fork_version_hex, "0x" + net.capella_fork_version.hex(), net.genesis_time,
            net.slot_seconds) == (chain, fork, capella, genesis, slot)
    assert N.by_fork_version(fork, release="v1.10").name == name
    assert N.by_fork_version(fork.upper().replace("0X", "0x"), release="v1.10").name == name
    assert N.by_fork_version(bytes.fromhex(fork[2:]), release="v1.10").name == name
    assert N.chain_id(fork, release="v1.10") == chain


def test_capella_epochs_and_aliases():
    assert N.by_name("mainnet").capella_epoch == 194048
    assert N.by_name("goerli").capella_epoch == 162304
    assert N.by_name("hoodi").capella_epoch == 256
    assert N.by_name("prater").name == "goerli"
    assert N.by_name("Mainnet").name == "mainnet"


def test_holesky_only_in_v1_10():
    assert N.by_name("holesky").name == "holesky"   # default release line: latest stable v1.10.x
    for rel in ("v1.11.0-rc3", "v1.11", "1.11.0"):
        with pytest.raises(N.NetworkError, match="unknown network"):
            N.by_name("holesky", release=rel)
        with pytest.raises(N.NetworkError, match="unknown fork version 0x01017000"):
            N.by_fork_version("0x01017000", release=rel)
    assert "holesky" not in N.names("v1.11")
    assert "holesky" in N.names("v1.10.3")


def test_unknown_and_malformed():
    with pytest.raises(N.NetworkError, match="unknown fork version 0x12345678"):
        N.by_fork_version("0x12345678")
    with pytest.raises(N.NetworkError, match="4 bytes"):
        N.by_fork_version("0x0000")
    with pytest.raises(N.NetworkError, match="not hex"):
        N.by_fork_version("0xzzzzzzzz")
    with pytest.raises(N.NetworkError, match="release"):
        N.by_name("mainnet", release="latest")


def test_custom_network():
    net = N.register_network("Kurtosis", 3151908, "0x10000038", "0x40000038", 1700000000, 6, 0)
    assert N.by_fork_version("0x10000038").name == "kurtosis"
    assert N.by_name("kurtosis", release="v1.11").chain_id == 3151908
    assert net.as_dict()["capella_fork_version"] == "0x40000038"
    # Re-registering replaces it; built-ins cannot be shadowed.
    N.register_network("kurtosis", 7, "0x10000038", "0x40000038", 1)
    assert N.chain_id("0x10000038") == 7
    with pytest.raises(N.NetworkError, match="clashes"):
        N.register_network("mainnet2", 9, "0x00000000", "0x03000000", 1)
    with pytest.raises(N.NetworkError, match="clashes"):
        N.register_network("sepolia", 9, "0x99999999", "0x03000000", 1)
    N.unregister_network("kurtosis")
    with pytest.raises(N.NetworkError):
        N.by_name("kurtosis")
