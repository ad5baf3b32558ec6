# -*- coding: utf-8 -*-
"""The roles' network data agrees with the one network table (plugins/module_utils/_networks.py, issue 14).

ansible-core needs static ``choices`` in meta/argument_specs.yml, so those stay lists: they must equal the
node stack's networks of the table. The per-network data that is the roles' own (checkpoint URLs, relays,
the networks geth and mev-boost know by flag) may name only networks of the table.
"""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.dvops.charon.plugins.filter.networks import network, networks

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STACK = set(networks(None, stack=True))


def _yaml(path):
    with open(os.path.join(ROOT, path)) as f:
        return yaml.safe_load(f)


@pytest.mark.parametrize("role, option", [("geth", "geth_network"), ("lighthouse", "lighthouse_network"),
                                          ("validator", "validator_network")])
def test_argument_spec_choices_are_the_tables_stack_networks(role, option):
    spec = _yaml("roles/%s/meta/argument_specs.yml" % role)["argument_specs"]["main"]["options"][option]
    assert set(spec["choices"]) == STACK
    assert len(spec["choices"]) == len(STACK)


def test_lighthouse_has_a_checkpoint_url_for_every_stack_network():
    assert set(_yaml("roles/lighthouse/vars/main.yml")["_lighthouse_checkpoint_urls"]) == STACK


@pytest.mark.parametrize("path, key", [("roles/geth/vars/main.yml", "_geth_networks"),
                                       ("roles/mev/vars/main.yml", "_mev_network_flags"),
                                       ("roles/mev/vars/main.yml", "_mev_relays_by_network")])
def test_the_roles_own_network_data_names_table_networks(path, key):
    names = set(_yaml(path)[key])
    assert names and names <= STACK, names - STACK


def test_no_role_keeps_a_fork_version_table():
    # fork versions live in the table only; the roles get them through dvops.charon.network
    forks = [network(n)["genesis_fork_version"] for n in networks()]
    found = []
    for base, _dirs, files in os.walk(os.path.join(ROOT, "roles")):
        for name in files:
            if name.endswith((".yml", ".j2")):
                with open(os.path.join(base, name)) as f:
                    text = f.read()
                found += ["%s: %s" % (os.path.relpath(os.path.join(base, name), ROOT), fv) for fv in forks if fv in text]
    assert not found, found
