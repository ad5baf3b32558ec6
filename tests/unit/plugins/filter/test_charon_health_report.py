# -*- coding: utf-8 -*-
"""charon_health_report filter: registered charon_health results (incl. unreachable/failed hosts) -> verdict."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dvops.charon.plugins.filter.charon_health import charon_health_report
from ansible_collections.dvops.charon.plugins.module_utils import _health


def _ok(threshold=2):
    node = _health.summarize_node(200, "ok", "app_monitoring_readyz 1\ncluster_threshold %d\n" % threshold)
    return {"changed": False, "node": node}


def test_unreachable_failed_and_missing_hosts_are_named():
    results = {
        "a": _ok(),
        "b": {"unreachable": True, "msg": "Failed to connect to the host via ssh: timeout"},
        "c": {"failed": True, "msg": "module crashed"},
    }
    report = charon_health_report(results, ["a", "b", "c", "d"])
    assert report["ready"] == 1 and report["min_ready"] == 2 and report["ok"] is False
    why = dict((n["host"], n["why"]) for n in report["not_ready"])
    assert "host unreachable: Failed to connect to the host via ssh" in why["b"]
    assert "health task failed: module crashed" in why["c"]
    assert why["d"] == "monitoring API unreachable (host not reached by Ansible)"


def test_min_ready_setting_and_bad_values():
    results = {"a": _ok(), "b": _ok()}
    assert charon_health_report(results, ["a", "b"], "2")["ok"] is True
    assert charon_health_report(results, ["a", "b"], 3)["ok"] is False
    assert charon_health_report(results, ["a", "b"], None)["min_ready_source"] == "cluster threshold"
    with pytest.raises(AnsibleFilterError, match="min_ready must be an integer"):
        charon_health_report(results, ["a", "b"], "three")
    with pytest.raises(AnsibleFilterError, match="expects a dict"):
        charon_health_report([], ["a"])
