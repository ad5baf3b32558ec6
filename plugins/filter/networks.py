# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""``network`` and ``networks``: the network table of ``_networks`` for the roles (docs in network.yml, networks.yml).

The roles read the networks from here instead of keeping lists of their own, so that a network added to
(or retired from) ``plugins/module_utils/_networks.py`` reaches every role and assert at once.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.dvops.charon.plugins.module_utils import _networks

# Networks in charon's table that the node stack's clients (geth, lighthouse, teku, lodestar, mev-boost) no longer
# run: goerli was shut down in 2024 and the clients dropped it; charon keeps it to read old definitions.
STACK_RETIRED = ("goerli",)


def network(name, release=None):
    """The table row of ``name`` (``prater`` means goerli) as a dict, with the release lines that know it."""
    try:
        net = _networks.by_name(name, release)
    except _networks.NetworkError as exc:
        raise AnsibleFilterError("network: %s" % exc)
    row = net.as_dict()
    row["releases"] = None if net.releases is None else list(net.releases)
    row["stack"] = net.name not in STACK_RETIRED
    return row


def networks(release=None, stack=False):
    """Names of the networks charon ``release`` knows (input: a charon version, null for the default line)."""
    try:
        names = _networks.names(release)
    except _networks.NetworkError as exc:
        raise AnsibleFilterError("networks: %s" % exc)
    return [n for n in names if not (stack and n in STACK_RETIRED)]


class FilterModule(object):

    def filters(self):
        return {"network": network, "networks": networks}
