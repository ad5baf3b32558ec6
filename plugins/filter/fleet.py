# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Fleet filters: ``slot_value``, ``cluster_group``, ``fleet_collisions`` (documentation in the .yml files)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.dvops.charon.plugins.module_utils import _fleet


def slot_value(slot, name, host="?"):
    """The port, directory or project name ``name`` of a node instance in ``slot``."""
    try:
        return _fleet.slot_value(slot, name, host)
    except _fleet.FleetError as exc:
        raise AnsibleFilterError(str(exc))


def cluster_group(host, group_names, groups, cluster_groups=None):
    """The one cluster group (child of dvops_clusters, or the single dvops_cluster) of instance ``host``."""
    try:
        return _fleet.cluster_group(host, group_names, groups, cluster_groups)
    except _fleet.FleetError as exc:
        raise AnsibleFilterError(str(exc))


def fleet_collisions(instances, host=None):
    """One message per pair of instances on one machine sharing a port, a directory or a project name."""
    try:
        return _fleet.collisions(list(instances), host)
    except (KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError("fleet_collisions: each instance needs host, machine and values (%s)" % exc)


class FilterModule(object):

    def filters(self):
        return {"slot_value": slot_value, "cluster_group": cluster_group, "fleet_collisions": fleet_collisions}
