# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Fleet inventories: node instances, their slot layout, their cluster group, and collisions on one machine.

A node instance is one inventory host entry (an alias such as ``a-node1``); ``dvops_machine`` names the
physical machine it runs on. Several instances on one machine are kept apart by one small integer,
``dvops_slot``: every port, directory and compose project name an instance needs is derived from it here,
once (``slot_value``), and the role defaults read it from here. ``collisions`` finds two instances on one
machine that would still share something (an override, or two instances given the same slot).
"""

from __future__ import annotations

# name -> (value at slot 0, step per slot). Slot 0 is the single-node layout every role had before fleets;
# steps keep slots 0-9 apart (charon 3610-3619 vs validator API 3600-3609, EL/CL ports step 10, whose
# residues 3/5/1/0/2 never meet). Beyond slot 9 the collision check names what two instances share.
SLOT_LAYOUT = {
    "network_charon_port": (3610, 1),
    "charon_validator_api_port": (3600, 1),
    "monitoring_grafana_port": (3000, 1),
    "geth_p2p_port": (30303, 10),
    "geth_rpc_port": (8545, 10),
    "geth_engine_port": (8551, 10),
    "lighthouse_p2p_port": (9000, 10),
    "lighthouse_http_port": (5052, 10),
}
# Slot 0 keeps the historical names; slot n > 0 appends "-<n>".
SLOT_NAMES = {
    "charon_base_dir": "/opt/charon",
    "docker_project_name": "charon-distributed-validator-node",
}
# The clusters' parent group, and the one group older (single-cluster) inventories use.
FLEET_GROUP = "dvops_clusters"
SINGLE_GROUP = "dvops_cluster"
_NOT_CLUSTERS = frozenset(("all", "ungrouped", FLEET_GROUP, SINGLE_GROUP))


class FleetError(ValueError):
    """Bad fleet input; the message names the host and the field."""


def slot_number(slot, host="?"):
    """The slot as a non-negative int (inventory values may come as strings)."""
    try:
        number = int(str(slot).strip())
    except (TypeError, ValueError):
        raise FleetError("%s: dvops_slot must be a whole number >= 0, got %r" % (host, slot))
    if number < 0:
        raise FleetError("%s: dvops_slot must be a whole number >= 0, got %r" % (host, slot))
    return number


def slot_value(slot, name, host="?"):
    """The value of ``name`` (a port or a name in SLOT_LAYOUT / SLOT_NAMES) for an instance in ``slot``."""
    number = slot_number(slot, host)
    if name in SLOT_LAYOUT:
        base, step = SLOT_LAYOUT[name]
        return base + step * number
    if name in SLOT_NAMES:
        return SLOT_NAMES[name] if number == 0 else "%s-%d" % (SLOT_NAMES[name], number)
    raise FleetError("slot_value: unknown name %r (known: %s)" % (name, ", ".join(sorted(SLOT_LAYOUT) + sorted(SLOT_NAMES))))


def cluster_group(host, group_names, groups, cluster_groups=None):
    """The one cluster group of instance ``host``.

    Cluster groups are the children of ``dvops_clusters``. Ansible exposes no group hierarchy to templates, so
    unless ``cluster_groups`` lists them they are recognised as the groups made only of dvops_clusters'
    hosts (a group of machines inside the fleet would count too: then list the cluster groups in
    dvops_cluster_groups). An older inventory's ``dvops_cluster`` is a cluster group of its own.
    """
    groups = groups or {}
    names = list(group_names or [])
    if cluster_groups is not None and not isinstance(cluster_groups, (list, tuple)):
        raise FleetError("%s: dvops_cluster_groups must be a list of group names, got %r" % (host, cluster_groups))
    if cluster_groups:
        found = [g for g in cluster_groups if host in (groups.get(g) or [])]
    else:
        fleet = set(groups.get(FLEET_GROUP) or [])
        found = [g for g in names if g not in _NOT_CLUSTERS and fleet and set(groups.get(g) or []) <= fleet]
    if host in (groups.get(SINGLE_GROUP) or []) and SINGLE_GROUP not in found:
        found.append(SINGLE_GROUP)
    if len(found) == 1:
        return found[0]
    if not found:
        raise FleetError("%s is in no cluster group: put each node instance in exactly one child group of %s "
                         "(one group per cluster), or use the single group %s" % (host, FLEET_GROUP, SINGLE_GROUP))
    raise FleetError("%s is in %d cluster groups (%s): a node instance belongs to exactly one cluster; give the host "
                     "one inventory entry per cluster (an alias with ansible_host and its own dvops_slot)%s"
                     % (host, len(found), ", ".join(sorted(found)),
                        "" if cluster_groups else ", or list the cluster groups in dvops_cluster_groups"))


def collisions(instances, host=None):
    """Messages for every pair of instances on one machine that share a port, a directory or a project name
    (only the pairs that include ``host`` when it is given).

    ``instances``: dicts with ``host``, ``machine`` and ``values`` ({variable name: value}); a value of None or
    "" is not in use (e.g. the EL ports of an instance without its own geth). Names of the values that are
    ports end in ``_port``; any port equal to any port of the other instance collides, other values only with
    the same kind (a directory with a directory, a project name with a project name).
    """
    by_machine = {}
    for inst in instances:
        by_machine.setdefault(str(inst["machine"]), []).append(inst)
    found = []
    for machine in sorted(by_machine):
        group = sorted(by_machine[machine], key=lambda i: str(i["host"]))
        for i, one in enumerate(group):
            for other in group[i + 1:]:
                if host is not None and host not in (one["host"], other["host"]):
                    continue
                for what, name_a, name_b, value in _shared(one["values"], other["values"]):
                    same = name_a if name_a == name_b else "%s of %s, %s of %s" % (name_a, one["host"], name_b, other["host"])
                    found.append("%s and %s on machine %s share the %s %s (%s)"
                                 % (one["host"], other["host"], machine, what, value, same))
    return found


def _kind(name):
    if name.endswith("_port"):
        return "port"
    if name.endswith("_dir"):
        return "directory"
    return name


def _shared(a, b):
    out = []
    for name_a in sorted(a):
        value_a = a[name_a]
        if value_a in (None, ""):
            continue
        for name_b in sorted(b):
            value_b = b[name_b]
            if value_b in (None, "") or _kind(name_a) != _kind(name_b):
                continue
            if _kind(name_a) == "port":
                same = _port(value_a) is not None and _port(value_a) == _port(value_b)
            elif _kind(name_a) == "directory":
                same = str(value_a).rstrip("/") == str(value_b).rstrip("/")
            else:
                same = str(value_a) == str(value_b)
            if same:
                out.append((_kind(name_a), name_a, name_b, value_a))
    return out


def _port(value):
    """The port number, or None for a value that is no TCP/UDP port (its own role's preflight names it; a
    "collision" of two invalid values would hide that message)."""
    try:
        port = int(str(value).strip())
    except ValueError:
        return None
    return port if 1 <= port <= 65535 else None
