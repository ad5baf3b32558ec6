# -*- coding: utf-8 -*-
"""The monitoring role's alert rules, checked with the REAL promtool (Debian's, tests/testbed/install-tools.sh):
the template rendered with the role defaults passes `promtool check rules`, and `promtool test rules`
runs tests/unit/monitoring/charon-alerts_test.yml, where every alert has a case that fires and one
that stays silent. The charon metric names used exist in charon v1.10.3's source."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.dvops.charon.tests.fixtures import programs
from ansible_collections.dvops.charon.tests.fixtures.alert_rules import render, rules

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CASES = os.path.join(os.path.dirname(__file__), "monitoring", "charon-alerts_test.yml")
CHARON_SRC = "/root/go/pkg/mod/github.com/obolnetwork/charon@v1.10.3"
PROMTOOL = os.path.join(programs.tools_dir(), "bin", "promtool")

needs_promtool = pytest.mark.skipif(not os.access(PROMTOOL, os.X_OK), reason="promtool missing: make tools")


def promtool(tmp_path, rules_text, *args):
    (tmp_path / "charon-alerts.yml").write_text(rules_text)
    shutil.copy(CASES, tmp_path / "charon-alerts_test.yml")
    return subprocess.run([PROMTOOL] + list(args), cwd=str(tmp_path), capture_output=True, text=True,
                          timeout=120, check=False)


@needs_promtool
def test_rules_pass_promtool_check(tmp_path):
    result = promtool(tmp_path, render(), "check", "rules", "charon-alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: %d rules found" % len(rules(render())) in result.stdout


@needs_promtool
def test_every_alert_fires_and_stays_silent_in_promtool(tmp_path):
    result = promtool(tmp_path, render(), "test", "rules", "charon-alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_promtool_cases_catch_a_changed_rule(tmp_path):
    """The cases are not vacuous: a shorter readyz hold time makes the 'still silent at 3m' cases fail."""
    result = promtool(tmp_path, render(monitoring_alert_readyz_for="1m"), "test", "rules", "charon-alerts_test.yml")
    assert result.returncode != 0
    assert "CharonBeaconNodeFarBehind" in result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_silent_case():
    with open(CASES, encoding="utf-8") as handle:
        cases = yaml.safe_load(handle)
    firing, silent = set(), set()
    for test in cases["tests"]:
        for check in test["alert_rule_test"]:
            (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    names = set(rule["alert"] for rule in rules(render()))
    assert len(names) == 17
    assert names - firing == set(), "alerts without a firing case"
    assert names - silent == set(), "alerts without a silent case"
    assert firing | silent <= names, "cases for alerts that do not exist"


def test_readyz_alerts_cover_every_reason_charon_reports():
    """One alert per app_monitoring_readyz value charon v1.10.3 sets (app/metrics.go), except ready (1)."""
    exprs = [rule["expr"] for rule in rules(render())]
    values = set(int(m) for e in exprs for m in re.findall(r"app_monitoring_readyz == (\d+)", e))
    assert values == {0, 2, 3, 4, 5, 7, 8}


def test_charon_metric_names_exist_in_charons_source():
    if not os.path.isdir(CHARON_SRC):
        pytest.skip("charon v1.10.3 source not in the Go module cache")
    known = set()
    for directory, _dirs, files in os.walk(CHARON_SRC):
        for name in files:
            if not name.endswith(".go") or name.endswith("_test.go"):
                continue
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                src = handle.read()
            for match in re.finditer(r"Opts\{(.*?)\}", src, re.S):
                parts = [re.search(r'%s:\s*"(\w*)"' % key, match.group(1)) for key in ("Namespace", "Subsystem", "Name")]
                if parts[2]:
                    known.add("_".join(p.group(1) for p in parts if p and p.group(1)))
    used = set()
    for rule in rules(render()):
        # Label lists (by/on clauses) hold label names such as cluster_peer, not metrics.
        expr = re.sub(r"\b(?:by|on|without|ignoring)\s*\([^)]*\)", "", rule["expr"])
        used |= set(re.findall(r"\b((?:app|core|p2p|cluster)_[a-z_]+)\b", expr))
    assert used, "no charon metric found in the rules"
    # Counters are exposed with their _total suffix as declared in the source.
    assert used - known == set(), "metrics not in charon v1.10.3: %s" % sorted(used - known)
    assert {"app_health_checks", "app_monitoring_readyz", "p2p_ping_success", "cluster_threshold",
            "app_peerinfo_version_support", "core_tracker_success_duties_total",
            "core_scheduler_validators_active"} <= used
