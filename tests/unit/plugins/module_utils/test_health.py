# -*- coding: utf-8 -*-
"""_health: charon's monitoring API answers -> node health -> cluster verdict.

The metrics inputs are REAL charon v1.10.3 output (data/charon_health/, see its README); the
readyz texts are the exact error strings of charon's app/monitoringapi.go."""

from __future__ import annotations

import gzip
import os
import subprocess
from urllib.error import HTTPError, URLError

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _health

DATA = os.path.join(os.path.dirname(__file__), "data", "charon_health")
CHARON_SRC = "/root/go/pkg/mod/github.com/obolnetwork/charon@v1.10.3/app"


def real(name):
    with gzip.open(os.path.join(DATA, name), "rt", encoding="utf-8") as handle:
        return handle.read()


# --- Prometheus text format ------------------------------------------------------------------

def test_parse_real_metrics_keeps_escaped_descriptions():
    samples = _health.parse_prometheus_text(real("metrics_ready.txt.gz"))
    assert len(samples) > 1000
    checks = [(labels, value) for name, labels, value in samples if name == "app_health_checks"]
    assert len(checks) == 18  # charon v1.10.3 app/health/checks.go defines 18 checks
    syncing = [labels for labels, _value in checks if labels["name"] == "beacon_node_syncing"][0]
    assert syncing["severity"] == "critical"
    # \n in the exposition becomes a newline; the tabs of charon's Go raw strings stay.
    assert "\n\t\tIf it doesn't resolve" in syncing["description"]
    assert syncing["cluster_name"] == "factory cluster"


def test_parse_escapes_timestamps_and_special_values():
    text = ('# HELP x y\n# TYPE x gauge\n'
            'x{a="q\\"uote",b="back\\\\slash",c="new\\nline",} 1 1700000000000\n'
            'y NaN\nz +Inf\nw{} -2.5e-3\n')
    samples = _health.parse_prometheus_text(text)
    assert samples[0] == ("x", {"a": 'q"uote', "b": "back\\slash", "c": "new\nline"}, 1.0)
    assert samples[1][2] != samples[1][2]  # NaN
    assert samples[2][2] == float("inf")
    assert samples[3] == ("w", {}, -0.0025)


@pytest.mark.parametrize("text, where", [
    ('x{a="1" 2\n', "line 1"),
    ('ok 1\nx{a="1"} seven\n', "line 2"),
    ("{} 1\n", "no metric name"),
    ("x\n", "has no value"),
    ('x{a=1} 1\n', "bad label"),
])
def test_parse_rejects_broken_lines(text, where):
    with pytest.raises(_health.HealthError, match=where):
        _health.parse_prometheus_text(text)


# --- readyz -------------------------------------------------------------------------------

def test_readyz_texts_are_charons():
    """Every errReady* text of charon v1.10.3 is known, and nothing else (read from its source)."""
    if not os.path.isdir(CHARON_SRC):
        pytest.skip("charon v1.10.3 source not in the Go module cache")
    import re
    with open(os.path.join(CHARON_SRC, "monitoringapi.go"), encoding="utf-8") as handle:
        texts = set(re.findall(r'errReady\w+\s*=\s*errors\.New\("([^"]+)"\)', handle.read()))
    assert len(texts) == 7
    assert texts == set(_health.READYZ_REASONS) - {"ok"}


@pytest.mark.parametrize("status, body, reason", [
    (200, "ok", "ready"),
    (500, "quorum peers not connected", "insufficient_peers"),
    (500, "vc not connected", "vc_not_connected"),
    (500, "beacon node far behind", "beacon_node_far_behind"),
    (500, "beacon node not synced", "beacon_node_syncing"),
    (500, "beacon node down", "beacon_node_down"),
    (500, "beacon node has zero peers", "beacon_node_zero_peers"),
    (500, "ready check uninitialised", "uninitialised"),
    (500, "ok", "unknown:ok"),          # an ok body with an error status is not ready
    (502, "", "unknown:HTTP 502"),
    (500, "something new", "unknown:something new"),
])
def test_readyz_reason(status, body, reason):
    assert _health.readyz_reason(status, body) == reason


def test_readyz_gauge_values_are_charons():
    if not os.path.isdir(CHARON_SRC):
        pytest.skip("charon v1.10.3 source not in the Go module cache")
    import re
    with open(os.path.join(CHARON_SRC, "metrics.go"), encoding="utf-8") as handle:
        consts = dict((int(v), k) for k, v in re.findall(r"^\t(readyz\w+) = (\d+)$", handle.read(), re.M))
    assert consts == {1: "readyzReady", 2: "readyzBeaconNodeDown", 3: "readyzBeaconNodeSyncing",
                      4: "readyzInsufficientPeers", 5: "readyzVCNotConnected", 7: "readyzBeaconNodeZeroPeers",
                      8: "readyzBeaconNodeFarBehind"}
    for value in consts:
        assert not _health.READYZ_GAUGE[value].startswith("unknown")


# --- one node from real output ------------------------------------------------------------

def test_summarize_ready_node():
    node = _health.summarize_node(200, "ok", real("metrics_ready.txt.gz"))
    assert node["ready"] is True and node["reason"] == "ready"
    assert node["readyz_gauge"] == {"value": 1, "reason": "ready"}
    assert node["peer_name"] == "considerate-image"
    assert node["charon_version"] == "v1.10.3"
    assert node["cluster_name"] == "factory cluster" and node["network"] == "hoodi"
    assert node["threshold"] == 3 and node["operators"] == 4
    assert node["peers"] == {"connected": 3, "total": 3, "required": 2, "not_connected": []}
    assert node["beacon_node"] == {"state": "synced", "peers": 0}
    assert node["validator_client"] == {"connected": True, "user_agents": ["Go-http-client/1.1"]}
    assert node["validators"] == {"active": 2, "total": 2}
    # The simnet's mock beacon node proposes with a zero fee recipient: charon flags it (really).
    assert node["failing_checks"] == [
        {"name": "local_proposal_fee_recipient_mismatch", "severity": "critical"},
        {"name": "local_block_proposal", "severity": "warning"},
    ]
    assert node["incompatible_peers"] == []


def test_summarize_node_with_two_peers_down():
    node = _health.summarize_node(500, "quorum peers not connected", real("metrics_two_down.txt.gz"))
    assert node["ready"] is False and node["reason"] == "insufficient_peers"
    assert node["readyz_gauge"] == {"value": 4, "reason": "insufficient_peers"}
    assert node["peers"]["connected"] == 1 and node["peers"]["required"] == 2
    assert node["peers"]["not_connected"] == ["odd-oil", "witty-city"]
    # charon stops at the peers check, so it never judged the VC.
    assert node["validator_client"]["connected"] is None
    assert node["beacon_node"]["state"] == "synced"


def test_summarize_starting_node():
    node = _health.summarize_node(500, "ready check uninitialised", real("metrics_starting.txt.gz"))
    assert node["ready"] is False and node["reason"] == "uninitialised"
    assert node["readyz_gauge"] == {"value": 0, "reason": "uninitialised"}
    assert node["beacon_node"]["state"] == "unknown"
    assert node["failing_checks"] == []  # the checker has not run yet


def test_summarize_synthetic_states():
    """Series charon emits in states the simnet cannot reach (bn far behind, vc gone, old peer)."""
    const = 'cluster_peer="p0",cluster_name="c",cluster_hash="abc",charon_version="v1.10.3",nickname=""'
    text = "\n".join([
        "app_monitoring_readyz{%s} 8" % const,
        'app_health_checks{%s,severity="critical",name="insufficient_connected_peers",description="d"} 1' % const,
        'app_health_checks{%s,severity="info",name="pending_validators",description="d"} 1' % const,
        'app_health_checks{%s,severity="warning",name="high_peer_clock_offset",description="d"} 1' % const,
        'app_peerinfo_version_support{%s,peer="old"} 0' % const,
        'app_peerinfo_version_support{%s,peer="new"} 1' % const,
        "cluster_threshold{%s} 5" % const,
        "cluster_operators{%s} 7" % const,
    ])
    node = _health.summarize_node(500, "beacon node far behind", text)
    assert node["beacon_node"]["state"] == "far_behind"
    assert [c["severity"] for c in node["failing_checks"]] == ["critical", "warning", "info"]
    assert node["incompatible_peers"] == ["old"]
    assert node["peers"] == {"connected": 0, "total": 6, "required": 4, "not_connected": []}
    assert node["validators"] == {"active": None, "total": None}
    vc = _health.summarize_node(500, "vc not connected", "app_monitoring_readyz{%s} 5" % const)
    assert vc["validator_client"]["connected"] is False and vc["beacon_node"]["state"] == "synced"


# --- fetching -----------------------------------------------------------------------------

class _Resp(object):
    def __init__(self, status, body):
        self.status, self.body = status, body

    def getcode(self):
        return self.status

    def read(self):
        return self.body


def test_fetcher_http_reads_500_bodies_and_reports_refusals():
    calls = []

    def opener(url, **kwargs):
        calls.append(url)
        if url.endswith("/readyz"):
            raise HTTPError(url, 500, "Internal Server Error", {}, _BytesIO(b"vc not connected"))
        return _Resp(200, b'app_monitoring_readyz{cluster_peer="x"} 5\n')

    node = _health.probe(_health.Fetcher("http://h:3620/", opener=opener))
    assert calls == ["http://h:3620/readyz", "http://h:3620/metrics"]
    assert node["reason"] == "vc_not_connected" and node["readyz"] == {"status": 500, "body": "vc not connected"}

    def refused(url, **kwargs):
        raise URLError(ConnectionRefusedError(111, "Connection refused"))

    down = _health.probe(_health.Fetcher("http://h:3620", opener=refused))
    assert down["reachable"] is False and down["ready"] is False
    assert "Connection refused" in down["error"] and "http://h:3620/readyz" in down["error"]


def test_fetcher_rejects_a_non_url():
    with pytest.raises(_health.HealthError, match="monitoring_url"):
        _health.Fetcher("localhost:3620")


class _BytesIO(object):
    def __init__(self, data):
        self.data = data

    def read(self, *args):
        return self.data

    def close(self):
        pass


def test_fetcher_exec_runs_wget_in_the_container_and_reads_its_status():
    seen = []

    def run(cmd):
        seen.append(cmd)
        # What GNU wget -q -S --content-on-error prints for charon's 500 (headers on stderr).
        if cmd[-1].endswith("/readyz"):
            return 8, "beacon node not synced", ("  HTTP/1.1 500 Internal Server Error\n  Date: x\n"
                                                 "  Content-Length: 22\n  Content-Type: text/plain\n")
        return 0, "app_monitoring_readyz 3\n", "  HTTP/1.1 200 OK\n"

    prefix = ["docker", "compose", "--project-directory", "/opt/charon", "exec", "-T", "charon"]
    node = _health.probe(_health.Fetcher("http://localhost:3620", exec_command=prefix, run=run, timeout=4))
    assert seen[0] == prefix + ["wget", "-q", "-S", "--content-on-error", "-T", "4", "-t", "1", "-O", "-",
                                "http://localhost:3620/readyz"]
    assert node["reason"] == "beacon_node_syncing" and node["beacon_node"]["state"] == "syncing"

    def no_container(cmd):
        return 1, "", "service \"charon\" is not running\n"

    down = _health.probe(_health.Fetcher("http://localhost:3620", exec_command=prefix, run=no_container))
    assert down["reachable"] is False and 'service "charon" is not running' in down["error"]


def test_wget_really_prints_status_and_500_body(tmp_path):
    """The exec transport's parsing against a REAL GNU wget (when installed) and a local 500 server."""
    import shutil
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    if not shutil.which("wget"):
        pytest.skip("GNU wget not installed")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server API)
            body = b"quorum peers not connected"
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        def run(cmd):
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
            return proc.returncode, proc.stdout, proc.stderr

        fetcher = _health.Fetcher("http://127.0.0.1:%d" % server.server_port, exec_command=["env"], run=run)
        assert fetcher.get("/readyz") == (500, "quorum peers not connected")
    finally:
        server.shutdown()
        server.server_close()


# --- the cluster ----------------------------------------------------------------------------

def _ready():
    return _health.summarize_node(200, "ok", real("metrics_ready.txt.gz"))


def test_cluster_all_ready_uses_the_reported_threshold():
    hosts = ["node1", "node2", "node3", "node4"]
    report = _health.cluster_report(hosts, dict((h, _ready()) for h in hosts))
    assert report["ok"] is True and report["ready"] == 4 and report["min_ready"] == 3
    assert report["min_ready_source"] == "cluster threshold"
    assert report["summary"].startswith("4/4 nodes ready")
    lines = report["table"].splitlines()
    assert lines[1].split()[:3] == ["NODE", "READY", "READYZ"]
    assert len(lines) == 6
    assert lines[2].split()[:7] == ["node1", "yes", "ok", "3/3", "synced", "yes", "2/2"]
    assert "critical:local_proposal_fee_recipient_mismatch" in lines[2]
    assert report["nodes"]["node3"]["host"] == "node3"


def test_cluster_two_down_fails_naming_them():
    hosts = ["node1", "node2", "node3", "node4"]
    degraded = _health.summarize_node(500, "quorum peers not connected", real("metrics_two_down.txt.gz"))
    nodes = {"node1": degraded, "node2": degraded,
             "node3": _health.unreachable_node("GET http://127.0.0.1:1/readyz: [Errno 111] Connection refused")}
    report = _health.cluster_report(hosts, nodes)
    assert report["ok"] is False and report["ready"] == 0 and report["min_ready"] == 3
    named = dict((n["host"], n["why"]) for n in report["not_ready"])
    assert named["node3"].startswith("monitoring API unreachable") and "Connection refused" in named["node3"]
    assert named["node4"] == "monitoring API unreachable (host not reached by Ansible)"
    assert named["node1"] == ("readyz: quorum peers not connected; critical checks failing: "
                              "local_proposal_fee_recipient_mismatch")
    assert "node3: monitoring API unreachable" in report["message"]
    assert report["message"].startswith("0/4 nodes ready (3 needed, cluster threshold)")
    row3 = [line for line in report["table"].splitlines() if line.startswith("node3")][0]
    assert row3.split()[:3] == ["node3", "NO", "unreachable"]


def test_cluster_min_ready_setting_and_fallback():
    hosts = ["a", "b", "c"]
    nodes = {"a": _ready(), "b": _health.unreachable_node("x"), "c": _health.unreachable_node("y")}
    assert _health.cluster_report(hosts, nodes, min_ready=1)["ok"] is True
    assert _health.cluster_report(hosts, nodes, min_ready=2)["ok"] is False
    nobody = _health.cluster_report(hosts, {})
    assert nobody["min_ready"] == 2 and nobody["min_ready_source"].startswith("ceil(2n/3)")
    with pytest.raises(_health.HealthError, match="min_ready"):
        _health.cluster_report(hosts, nodes, min_ready=0)


def test_builder_modes_per_peer_and_a_mixed_cluster_warns():
    ready = _ready()
    # In this capture peerinfo had only reported this node itself (builder API off).
    assert ready["builder_api"] == {"considerate-image": False}
    mixed = 'app_peerinfo_builder_api_enabled{cluster_peer="a",peer="a"} 1\n' \
            'app_peerinfo_builder_api_enabled{cluster_peer="a",peer="b"} 0\n'
    node = _health.summarize_node(200, "ok", mixed)
    assert node["builder_api"] == {"a": True, "b": False}
    report = _health.cluster_report(["x", "y"], {"x": node, "y": ready})
    assert report["warnings"] == ["peers disagree on the builder API: on for a, off for b, considerate-image"]
    assert report["table"].splitlines()[-1].startswith("WARNING: peers disagree on the builder API")
    assert _health.cluster_report(["y"], {"y": ready})["warnings"] == []
