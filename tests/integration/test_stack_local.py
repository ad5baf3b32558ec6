# -*- coding: utf-8 -*-
"""The node stack on the local inventory, in a temporary base directory, without the DKG:
FIXTURE data dirs (tests/fixtures/cluster_factory.py, a trusted dealer, tests only) stand in for
the ceremony's output. playbooks/stack.yml renders two nodes' compose projects and validates them
with a real Compose v2 binary and promtool (tests/testbed/install-tools.sh), a rerun changes
nothing, an operator's override survives, a broken lock is refused before anything is rendered,
and bad values are rejected with a message naming the variable."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = os.path.join(ROOT, ".cache", "tools", "bin")
HOSTS = ["node1", "node2"]

pytestmark = pytest.mark.skipif(
    not (os.path.exists(os.path.join(TOOLS, "docker-compose")) and os.path.exists(os.path.join(TOOLS, "promtool"))),
    reason="Compose v2 / promtool binaries missing: run `make tools`")


def _nodes(tmp_path):
    from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster, write_node_dirs
    cluster = build_cluster(seed=b"stack-integration", n=4, num_validators=2, network="hoodi")
    dirs = write_node_dirs(cluster, tmp_path / "fixture", nodes=[0, 1])
    for host, src in zip(HOSTS, dirs):
        shutil.copytree(src, tmp_path / "nodes" / host / ".charon")
    return cluster


def playbook(tmp_path, *args, extra=None):
    extra_vars = {"charon_base_dir": str(tmp_path / "nodes") + "/{{ inventory_hostname }}", "dvops_network": "hoodi",
                  "network_listener_seconds": 10}
    extra_vars.update(extra or {})
    ev = tmp_path / "extra.json"
    ev.write_text(json.dumps(extra_vars))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "playbooks/stack.yml",
                           "-i", "inventories/local", "-l", ",".join(HOSTS), "-e", "@" + str(ev)] + list(args),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)


def _targets(base):
    """The Prometheus scrape targets (file_sd) the roles wrote: {file stem: [target group]}."""
    return dict((p.stem, yaml.safe_load(p.read_text())) for p in (base / "prometheus" / "targets").glob("*.yml"))


# Each service role's target: (job label, addresses, metrics path) as the stack runs them by default.
ALL_TARGETS = {
    "charon": ("charon", ["charon:3620"], None),
    "geth": ("execution-client", ["geth:6060"], "/debug/metrics/prometheus"),
    "lighthouse": ("consensus-client", ["lighthouse:5054"], None),
    "validator": ("validator-client", ["vc-lighthouse:5064"], None),
    "node-exporter": ("node-exporter", ["node-exporter:9100"], None),
}


def _check_targets(base, expected):
    found = _targets(base)
    assert set(found) == set(expected), found
    for name, (job, addresses, path) in expected.items():
        (group,) = found[name]
        assert group["targets"] == addresses and group["labels"].get("job") == job, (name, group)
        assert group["labels"].get("__metrics_path__") == path, (name, group)
    # promtool reads the target files too (file_sd_configs: targets/*.yml beside prometheus.yml)
    res = subprocess.run([os.path.join(TOOLS, "promtool"), "check", "config", str(base / "prometheus/prometheus.yml")],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    conf = yaml.safe_load((base / "prometheus/prometheus.yml").read_text())
    jobs = dict((j["job_name"], j) for j in conf["scrape_configs"])
    assert jobs["node-stack"]["file_sd_configs"] == [{"files": ["targets/*.yml"]}]
    assert set(jobs) == {"node-stack", "prometheus"}  # no service listed in prometheus.yml itself


def _real_prometheus_targets(tmp_path, config_dir):
    """REAL Prometheus on the rendered config dir (prometheus.yml + targets/): its active targets' jobs and URLs.

    The services' names do not resolve here, so nothing is scraped; what is checked is what file_sd made of the
    roles' files (the job label each series gets, geth's metrics path). Bounded (timeout) and stopped here."""
    from ansible_collections.dvops.charon.tests.fixtures.charon_simnet import free_port, http_get, stop_process_group
    prometheus = os.path.join(TOOLS, "prometheus")
    if not os.access(prometheus, os.X_OK):
        pytest.skip("Debian's prometheus missing: make tools")
    conf = tmp_path / "prometheus-conf"
    shutil.copytree(config_dir, conf)
    port = free_port()
    with open(str(tmp_path / "prometheus.log"), "wb") as log:
        prom = subprocess.Popen(["timeout", "-s", "KILL", "120", prometheus, "--config.file=" + str(conf / "prometheus.yml"),
                                 "--storage.tsdb.path=" + str(tmp_path / "tsdb"), "--web.listen-address=127.0.0.1:%d" % port],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 60
        while True:
            status, body = http_get("http://127.0.0.1:%d/api/v1/targets" % port)
            if status == 200:
                active = json.loads(body)["data"]["activeTargets"]
                if len(active) > 1:
                    return dict((t["labels"]["job"], t["scrapeUrl"]) for t in active)
            assert time.time() < deadline, (tmp_path / "prometheus.log").read_text()[-3000:]
            time.sleep(1)
    finally:
        stop_process_group(prom)


def recap(output):
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M)}


def test_stack_renders_validates_and_is_idempotent(tmp_path):
    _nodes(tmp_path)
    token = "fake-integration-token-3b7d"
    first = playbook(tmp_path, extra={"monitoring_remote_write_token": token})
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert token not in first.stdout
    assert re.search(r"node1\s+-\s+ok", first.stdout), "reachability matrix missing"
    jwts = set()
    for host in HOSTS:
        base = tmp_path / "nodes" / host
        services = subprocess.run([os.path.join(TOOLS, "docker-compose"), "config", "--services"], cwd=base,
                                  capture_output=True, text=True, check=True).stdout.split()
        assert set(services) == {"charon", "geth", "lighthouse", "vc-lighthouse", "prometheus", "grafana", "node-exporter"}
        _check_targets(base, ALL_TARGETS)
        subprocess.run([os.path.join(TOOLS, "promtool"), "check", "config", str(base / "prometheus/prometheus.yml")],
                       check=True, capture_output=True)
        jwt = (base / "jwt/jwt.hex").read_text()
        assert re.fullmatch(r"[0-9a-f]{64}", jwt) and oct((base / "jwt/jwt.hex").stat().st_mode & 0o777) == "0o600"
        jwts.add(jwt)
        token_file = base / "prometheus/remote_write_token"
        assert token_file.read_text() == token and oct(token_file.stat().st_mode & 0o777) == "0o600"
        assert token not in (base / "prometheus/prometheus.yml").read_text()
    assert len(jwts) == 2

    # The operator's override is honoured and kept.
    override = tmp_path / "nodes/node1/docker-compose.override.yml"
    override.write_text("services:\n  geth:\n    environment:\n      OPERATOR_TWEAK: \"1\"\n")
    again = playbook(tmp_path, extra={"monitoring_remote_write_token": token})
    assert again.returncode == 0, again.stdout[-4000:]
    assert all(r["changed"] == 0 for r in recap(again.stdout).values()), again.stdout[-4000:]
    assert "OPERATOR_TWEAK" in override.read_text()
    merged = subprocess.run([os.path.join(TOOLS, "docker-compose"), "config"], cwd=tmp_path / "nodes/node1",
                            capture_output=True, text=True, check=True).stdout
    assert "OPERATOR_TWEAK" in merged

    # No token: no remote_write, the token file is gone, Prometheus config still valid.
    plain = playbook(tmp_path, "--tags", "monitoring")
    assert plain.returncode == 0, plain.stdout[-4000:]
    conf = (tmp_path / "nodes/node1/prometheus/prometheus.yml").read_text()
    assert "remote_write" not in conf and not (tmp_path / "nodes/node1/prometheus/remote_write_token").exists()


def test_broken_lock_is_refused(tmp_path):
    _nodes(tmp_path)
    lock = tmp_path / "nodes/node1/.charon/cluster-lock.json"
    data = json.loads(lock.read_text())
    data["cluster_definition"]["name"] = "tampered"
    os.chmod(lock, 0o644)
    lock.write_text(json.dumps(data))
    res = playbook(tmp_path, "--tags", "run")
    assert res.returncode != 0
    assert "charon will not be started on node1" in res.stdout, res.stdout[-3000:]
    assert not (tmp_path / "nodes/node1/docker-compose.yml").exists()


def test_a_target_is_there_only_while_its_service_is_in_the_stack(tmp_path):
    _nodes(tmp_path)
    base = tmp_path / "nodes/node1"
    first = playbook(tmp_path)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    _check_targets(base, ALL_TARGETS)
    assert _real_prometheus_targets(tmp_path, base / "prometheus") == {
        "charon": "http://charon:3620/metrics", "execution-client": "http://geth:6060/debug/metrics/prometheus",
        "consensus-client": "http://lighthouse:5054/metrics", "validator-client": "http://vc-lighthouse:5064/metrics",
        "node-exporter": "http://node-exporter:9100/metrics", "prometheus": "http://localhost:9090/metrics"}
    # geth, lighthouse and node-exporter off (an existing EL and beacon node): their compose fragments and
    # their scrape targets go; charon's and the validator client's stay
    off = {"geth_enabled": False, "geth_external_rpc_url": "http://el.example:8545",
           "geth_external_engine_url": "http://el.example:8551", "lighthouse_enabled": False,
           "lighthouse_external_url": "http://bn.example:5052", "monitoring_node_exporter_enabled": False}
    second = playbook(tmp_path, extra=off)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    assert not (base / "compose-el.yml").exists() and not (base / "compose-cl.yml").exists()
    _check_targets(base, dict((k, v) for k, v in ALL_TARGETS.items() if k in ("charon", "validator")))


@pytest.mark.parametrize("tags,extra,needle", [
    ("geth", {"geth_network": "gnosis"}, "geth_network 'gnosis'"),
    ("geth", {"geth_p2p_port": 70000}, "geth_p2p_port must be a TCP/UDP port"),
    ("lighthouse", {"lighthouse_network": "holesky", "charon_version": "v1.11.0"}, "lighthouse_network holesky needs charon v1.10.x"),
    ("validator", {"validator_client": "prysm"}, "validator_client"),
    ("network", {"network_external_address": "bad address!"}, "network_external_address"),
    ("monitoring", {"monitoring_grafana_bind": "0.0.0.0.1"}, "monitoring_grafana_bind"),
])
def test_bad_values_are_rejected(tmp_path, tags, extra, needle):
    _nodes(tmp_path)
    res = playbook(tmp_path, "--tags", tags, extra=extra)
    assert res.returncode != 0
    assert needle in res.stdout + res.stderr, (res.stdout + res.stderr)[-3000:]
