# -*- coding: utf-8 -*-
"""playbooks/health.yml against a REAL charon v1.10.3 cluster: four `charon run` processes on
loopback (charon's own simnet beacon node and validator client, a local `charon relay`; cluster
data from tests/fixtures/cluster_factory.py), started and killed by this test
(tests/fixtures/charon_simnet.py). Nothing is faked: the play reads the real monitoring APIs.

All four ready -> a 4/4 table printed once, the JSON report on the controller, changed=0.
Two nodes stopped -> the play (through site.yml --tags health) fails naming them and why."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from ansible_collections.dvops.charon.tests.fixtures import programs

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HOSTS = ["node1", "node2", "node3", "node4"]

try:
    CHARON = programs.program_path("charon")
except programs.ProgramMissing as exc:  # pragma: no cover - depends on the bed
    CHARON = None
    MISSING = str(exc)

pytestmark = pytest.mark.skipif(CHARON is None, reason="real charon not built (make tools)")


def inventory(tmp_path, bed):
    hosts = {}
    for i, host in enumerate(HOSTS):
        hosts[host] = {"charon_health_monitoring_url": bed.monitoring_url(i)}
    inv = {"all": {"children": {"dvops_cluster": {"hosts": hosts, "vars": {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        # The processes listen on loopback: read over HTTP, not through docker compose exec.
        "charon_health_via_compose": False,
        "charon_health_report_file": str(tmp_path / "report" / "health.json"),
    }}}}}
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(inv))
    (tmp_path / "report").mkdir(exist_ok=True)
    return str(path)


def run(playbook, inv, *args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook,
                           "-i", inv] + list(args),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def recap(output):
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M)}


def test_health_ready_then_two_nodes_down(tmp_path):
    from ansible_collections.dvops.charon.tests.fixtures.charon_simnet import SimnetCluster

    with SimnetCluster(tmp_path / "bed", n=4, max_seconds=420) as bed:
        bed.wait_ready(timeout=120)
        inv = inventory(tmp_path, bed)

        ready = run("playbooks/health.yml", inv)
        out = ready.stdout
        assert ready.returncode == 0, out[-5000:] + ready.stderr[-2000:]
        assert "4/4 nodes ready (3 needed, cluster threshold)" in out
        assert len(re.findall(r"^\s*NODE\s+READY\s", out, re.M)) == 1, out[-5000:]   # one table for the cluster
        rows = [line.strip() for line in out.splitlines() if re.match(r"^\s*node[1-4]\s+yes\s", line)]
        assert len(rows) == 4, out[-5000:]
        for row in rows:
            # ready, readyz ok, 3 of 3 peers, beacon node synced, VC connected, 2 of 2 validators
            assert row.split()[1:7] == ["yes", "ok", "3/3", "synced", "yes", "2/2"], row
        stats = recap(out)
        assert set(stats) == set(HOSTS)
        assert all(s["changed"] == 0 and s["failed"] == 0 for s in stats.values()), stats

        report = json.loads((tmp_path / "report" / "health.json").read_text())
        assert report["ok"] is True and report["ready"] == 4 and report["min_ready"] == 3
        assert sorted(report["nodes"]) == HOSTS
        assert {n["cluster_name"] for n in report["nodes"].values()} == {"factory cluster"}
        assert len({n["peer_name"] for n in report["nodes"].values()}) == 4

        bed.stop_node(2)
        bed.stop_node(3)

        down = run("site.yml", inv, "--tags", "health")
        out = down.stdout
        assert down.returncode != 0, out[-5000:]
        (tmp_path / "degraded.out").write_text(out)
        flat = " ".join(out.split())   # the YAML callback folds long messages
        failed = re.search(r"msg: '?(\d/4 nodes ready \(3 needed, cluster threshold\)\. Not ready: .*?)'? PLAY RECAP", flat)
        assert failed, out[-5000:]
        assert "node3: monitoring API unreachable (GET %s/readyz" % bed.monitoring_url(2) in failed.group(1)
        assert "node4: monitoring API unreachable (GET %s/readyz" % bed.monitoring_url(3) in failed.group(1)
        assert "Connection refused" in failed.group(1)
        stats = recap(out)
        assert all(s["changed"] == 0 for s in stats.values()), stats
        report = json.loads((tmp_path / "report" / "health.json").read_text())
        assert report["ok"] is False and report["ready"] <= 2
        assert {n["host"] for n in report["not_ready"]} >= {"node3", "node4"}
        assert report["nodes"]["node3"]["reachable"] is False
