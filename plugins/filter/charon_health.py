# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""``charon_health_report``: the cluster verdict from every node's charon_health result (docs in charon_health_report.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.dvops.charon.plugins.module_utils import _health


def _node_of(result):
    """The node dict of one registered charon_health result (None when the host gave none)."""
    if not isinstance(result, dict) or not result:
        return None
    if result.get("unreachable"):
        return _health.unreachable_node("host unreachable: %s" % (result.get("msg") or "no answer from Ansible"))
    if result.get("failed") or "node" not in result:
        return _health.unreachable_node("health task failed: %s" % (result.get("msg") or "no result"))
    return result["node"]


def charon_health_report(results, hosts, min_ready=None):
    """Cluster report from ``{host: registered charon_health result}`` over ``hosts``."""
    if not isinstance(results, dict):
        raise AnsibleFilterError("charon_health_report: expects a dict of host -> charon_health result")
    if min_ready in ("", None):
        min_ready = None
    else:
        try:
            min_ready = int(min_ready)
        except (TypeError, ValueError):
            raise AnsibleFilterError("charon_health_report: min_ready must be an integer, not %r" % (min_ready,))
    nodes = {}
    for host in hosts:
        node = _node_of(results.get(host))
        if node is not None:
            nodes[host] = node
    try:
        return _health.cluster_report(hosts, nodes, min_ready)
    except _health.HealthError as exc:
        raise AnsibleFilterError("charon_health_report: %s" % exc)


class FilterModule(object):

    def filters(self):
        return {"charon_health_report": charon_health_report}
