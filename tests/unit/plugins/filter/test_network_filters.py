# -*- coding: utf-8 -*-
"""The network / networks filters: the rows of _networks, release lines, the node stack's subset, errors."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.dvops.charon.plugins.filter.networks import STACK_RETIRED, FilterModule
from ansible_collections.dvops.charon.plugins.module_utils import _networks

FILTERS = FilterModule().filters()
network, networks = FILTERS["network"], FILTERS["networks"]


def test_wiring():
    assert set(FILTERS) == {"network", "networks"}


@pytest.mark.parametrize("name", _networks.names())
def test_every_row_is_the_table_row(name):
    row = network(name)
    net = _networks.by_name(name)
    assert {k: v for k, v in row.items() if k not in ("releases", "stack")} == net.as_dict()
    assert row["releases"] == (None if net.releases is None else list(net.releases))
    assert row["stack"] is (name not in STACK_RETIRED)


def test_hoodi_values():
    row = network("HOODI")
    assert (row["name"], row["chain_id"], row["genesis_fork_version"]) == ("hoodi", 560048, "0x10000910")
    assert network("prater")["name"] == "goerli"


def test_release_lines():
    assert "holesky" in networks() and "holesky" in networks("v1.10.3")
    assert "holesky" not in networks("v1.11.0-rc2") and "hoodi" in networks("v1.11")
    assert network("holesky")["releases"] == ["v1.10"]
    with pytest.raises(AnsibleFilterError, match="unknown network 'holesky'"):
        network("holesky", "v1.11.0")


def test_stack_leaves_out_the_retired_networks_only():
    assert networks() == _networks.names()
    assert networks(None, stack=True) == [n for n in _networks.names() if n != "goerli"]


def test_errors_name_the_input():
    with pytest.raises(AnsibleFilterError, match=r"network: unknown network 'nowhere' \(known: mainnet"):
        network("nowhere")
    with pytest.raises(AnsibleFilterError, match="networks: release: 'latest' is not a charon version"):
        networks("latest")
