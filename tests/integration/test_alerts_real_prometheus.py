# -*- coding: utf-8 -*-
"""REAL Prometheus (Debian's build, tests/testbed/install-tools.sh) scraping a REAL charon v1.10.3
cluster (four `charon run` simnet processes on loopback, tests/fixtures/charon_simnet.py) with the
monitoring role's alert rules: nothing fires while all nodes run; after one node is stopped,
CharonNodeDown fires for that node only. Every process is bounded and stopped by the test.

The rules are the role's template rendered with its defaults, except the node-down hold time
(monitoring_alert_node_down_for, a role variable) shortened to 20s to keep the test short."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse

import pytest

from ansible_collections.dvops.charon.tests.fixtures import programs
from ansible_collections.dvops.charon.tests.fixtures.alert_rules import render
from ansible_collections.dvops.charon.tests.fixtures.charon_simnet import free_port, http_get, stop_process_group

PROMETHEUS = os.path.join(programs.tools_dir(), "bin", "prometheus")

try:
    programs.program_path("charon")
    HAVE_CHARON = True
except programs.ProgramMissing:  # pragma: no cover - depends on the bed
    HAVE_CHARON = False

pytestmark = pytest.mark.skipif(not (HAVE_CHARON and os.access(PROMETHEUS, os.X_OK)),
                                reason="real charon or Debian's prometheus missing: make tools")


def query(base, path, **params):
    status, body = http_get(base + path + ("?" + urllib.parse.urlencode(params) if params else ""), timeout=5)
    assert status == 200, (path, status, body)
    return json.loads(body)["data"]


def firing(base):
    return [a for a in query(base, "/api/v1/alerts")["alerts"] if a["state"] == "firing"]


def test_node_down_alert_fires_for_the_stopped_node(tmp_path):
    from ansible_collections.dvops.charon.tests.fixtures.charon_simnet import SimnetCluster

    with SimnetCluster(tmp_path / "bed", n=4, max_seconds=420) as bed:
        bed.wait_ready(timeout=120)
        (tmp_path / "rules").mkdir()
        (tmp_path / "rules" / "charon-alerts.yml").write_text(render(monitoring_alert_node_down_for="20s"))
        targets = [bed.monitoring_url(i)[len("http://"):] for i in range(4)]
        (tmp_path / "prometheus.yml").write_text(json.dumps({
            "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
            "rule_files": ["rules/*.yml"],
            "scrape_configs": [{"job_name": "charon", "static_configs": [{"targets": targets}]}],
        }))
        port = free_port()
        log = open(str(tmp_path / "prometheus.log"), "wb")
        prom = subprocess.Popen(
            ["timeout", "-s", "KILL", "300", PROMETHEUS, "--config.file=" + str(tmp_path / "prometheus.yml"),
             "--storage.tsdb.path=" + str(tmp_path / "tsdb"), "--web.listen-address=127.0.0.1:%d" % port],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        base = "http://127.0.0.1:%d" % port
        try:
            deadline = time.time() + 60
            while True:
                status = http_get(base + "/-/ready")[0]
                if status == 200:
                    ups = query(base, "/api/v1/query", query='up{job="charon"}')["result"]
                    if len(ups) == 4 and all(r["value"][1] == "1" for r in ups):
                        break
                assert time.time() < deadline, (tmp_path / "prometheus.log").read_text()[-3000:]
                time.sleep(1)

            # The rules loaded into the real Prometheus, all of them healthy.
            groups = query(base, "/api/v1/rules")["groups"]
            loaded = [r for g in groups for r in g["rules"]]
            assert len(loaded) == 17 and all(r["health"] in ("ok", "unknown") for r in loaded), loaded
            time.sleep(25)  # longer than the node-down hold time: a healthy cluster stays silent
            assert [a for a in firing(base) if a["labels"]["alertname"] == "CharonNodeDown"] == []

            stopped = targets[3]
            t0 = time.time()
            bed.stop_node(3)
            deadline = time.time() + 90
            while True:
                down = [a for a in firing(base) if a["labels"]["alertname"] == "CharonNodeDown"]
                if down:
                    break
                assert time.time() < deadline, query(base, "/api/v1/alerts")
                time.sleep(2)
            elapsed = time.time() - t0
            assert [a["labels"]["instance"] for a in down] == [stopped]
            assert down[0]["labels"]["severity"] == "critical"
            assert down[0]["annotations"]["summary"] == "charon on %s is down" % stopped
            assert elapsed >= 20, elapsed  # the hold time was honoured
            # One node of four down leaves a quorum: no peer alert for the others.
            names = set(a["labels"]["alertname"] for a in firing(base))
            assert "CharonPeersBelowQuorum" not in names
            (tmp_path / "measured.txt").write_text("node-down alert after %.1fs\n" % elapsed)
            print("CharonNodeDown firing %.1fs after the node stopped" % elapsed)
        finally:
            stop_process_group(prom)
