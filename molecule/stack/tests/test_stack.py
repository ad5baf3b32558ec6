"""Verify of the molecule `stack` scenario (testinfra), on every host and across hosts.

The images cannot be pulled on the test bed (no registry), so the converge ran with
dvops_stack_start=false: the services are rendered and validated, not started. These tests
check the rendered projects with the real tools (Compose v2 on the hosts, promtool on the
controller), the secrets' files, owners and modes, and that no secret reached the -vvv log.
"""
import os
import re
import shutil
import subprocess

import pytest
import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
HOSTS = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("dvops_cluster")
testinfra_hosts = HOSTS
BASE = "/opt/charon"
DATA = BASE + "/.charon"
ROOT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.getcwd())


def _all_hosts():
    return [testinfra.get_host("ansible://" + h, ansible_inventory=INVENTORY) for h in HOSTS]


def test_compose_v2_accepts_the_project(host):
    out = host.check_output("cd %s && docker compose config --services", BASE)
    assert set(out.split()) == {"charon", "geth", "lighthouse", "vc-lighthouse", "prometheus", "grafana", "node-exporter"}
    # The operator's override file is part of the project (listed last in COMPOSE_FILE).
    env = host.file(BASE + "/.env").content_string
    assert re.search(r"^COMPOSE_FILE=.*docker-compose\.override\.yml$", env, re.M)


def test_compose_file_wiring(host):
    cfg = host.check_output("cd %s && docker compose config --format json", BASE)
    import json
    svc = json.loads(cfg)["services"]
    charon = svc["charon"]
    assert charon["image"].startswith("obolnetwork/charon:v")
    assert charon["environment"]["CHARON_BEACON_NODE_ENDPOINTS"] == "http://lighthouse:5052"
    assert charon["environment"]["CHARON_P2P_TCP_ADDRESS"] == "0.0.0.0:3610"
    assert charon["environment"]["CHARON_VALIDATOR_API_ADDRESS"] == "0.0.0.0:3600"
    assert charon["environment"]["CHARON_MONITORING_ADDRESS"] == "0.0.0.0:3620"
    # P2P is published on every address with the same number inside and out; the validator API only on
    # loopback (exit.yml's default URL on the host); monitoring not at all.
    ports = sorted((p["target"], str(p["published"]), p.get("host_ip", "")) for p in charon["ports"])
    assert ports == [(3600, "3600", "127.0.0.1"), (3610, "3610", "")]
    assert any(v["target"] == "/opt/charon/.charon" for v in charon["volumes"])
    # geth's RPC/engine and lighthouse's API stay on loopback.
    for name in ("geth", "lighthouse"):
        for p in svc[name]["ports"]:
            if p["target"] in (8545, 8551, 5052):
                assert p["host_ip"] == "127.0.0.1"
    vc = svc["vc-lighthouse"]
    assert "charon" in vc["depends_on"]
    script = host.file(BASE + "/validator/run-lighthouse.sh").content_string
    assert "--beacon-nodes \"http://charon:3600\"" in script
    assert "--suggested-fee-recipient \"0x000000000000000000000000000000000000dEaD\"" in script


def test_promtool_accepts_prometheus_config(host, tmp_path):
    promtool = shutil.which("promtool") or os.path.join(ROOT, ".cache/tools/bin/promtool")
    assert os.path.exists(promtool), "promtool missing: run tests/testbed/install-tools.sh (make tools)"
    conf = host.file(BASE + "/prometheus/prometheus.yml").content_string
    (tmp_path / "prometheus.yml").write_text(conf)
    # The real token stays on the host: promtool only needs the credentials file to exist.
    (tmp_path / "remote_write_token").write_text("placeholder")
    res = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "credentials_file: remote_write_token" in conf
    assert "fake-molecule-remote-write-token" not in conf
    assert 'cluster_name: "dvops-stack-molecule"' in conf
    assert "cluster_peer:" in conf


def test_jwt_per_host():
    secrets = []
    for h in _all_hosts():
        f = h.file(BASE + "/jwt/jwt.hex")
        assert (f.user, f.group, f.mode) == ("root", "root", 0o600)
        value = h.check_output("cat %s", f.path)
        assert re.fullmatch(r"[0-9a-f]{64}", value)
        secrets.append(value)
    assert len(set(secrets)) == len(secrets), "JWT secrets must differ per host"


@pytest.mark.parametrize("path,user,group,mode", [
    (DATA, "1000", "1000", None),
    (DATA + "/charon-enr-private-key", "1000", "1000", 0o600),
    (DATA + "/cluster-lock.json", "1000", "1000", None),
    (DATA + "/validator_keys", "1000", "1000", None),
    (BASE + "/prometheus/remote_write_token", "65534", "65534", 0o600),
    (BASE + "/data/prometheus", "65534", "65534", 0o750),
    (BASE + "/grafana/admin_password", "472", "0", 0o600),
    (BASE + "/data/grafana", "472", "0", 0o750),
    (BASE + "/data/vc-lighthouse", "1000", "1000", 0o700),
    (BASE + "/prometheus/prometheus.yml", "0", "0", 0o644),
])
def test_owner_and_mode(host, path, user, group, mode):
    f = host.file(path)
    assert f.exists, path
    assert (str(f.uid), str(f.gid)) == (user, group), path
    if mode is not None:
        assert f.mode == mode, path


def test_key_shares_belong_to_charon(host):
    out = host.check_output("find %s/validator_keys -type f -printf '%%U:%%G %%m %%f\\n'", DATA)
    lines = out.splitlines()
    assert len(lines) == 4  # two validators: keystore-N.json + keystore-N.txt
    for line in lines:
        owner, mode, name = line.split()
        assert owner in ("1000:1000",), line
        if name.endswith(".txt"):
            assert mode == "400", line


def test_docker_engine_running(host):
    assert host.service("docker").is_running
    assert host.service("docker").is_enabled
    assert host.check_output("docker compose version --short").startswith("2.")


def test_no_secret_in_the_vvv_log():
    log = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "ansible-vvv.log")
    assert os.path.exists(log), "converge log missing (ANSIBLE_LOG_PATH in molecule.yml)"
    # testinfra's own `ansible-inventory --list` (this verify step) logs the inventory, fake token
    # included, to the same file: drop those JSON dumps, keep every playbook line.
    kept, skip = [], False
    with open(log, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if re.match(r"^\S+ \S+ p=\d+ u=\S+ n=ansible \w+\| ", line):
                skip = line.rstrip().endswith("| {")
            if not skip:
                kept.append(line)
    text = "".join(kept)
    assert "TASK [" in text and len(text) > 100000, "the log does not look like a -vvv converge"
    secrets = {"remote_write token": "fake-molecule-remote-write-token-7c1e9b4a"}
    for h in _all_hosts():
        name = h.backend.get_hostname()
        secrets[name + " jwt"] = h.check_output("cat %s/jwt/jwt.hex", BASE)
        secrets[name + " grafana admin password"] = h.check_output("cat %s/grafana/admin_password", BASE)
        secrets[name + " enr private key"] = h.check_output("cat %s/charon-enr-private-key", DATA)
        for pw in h.check_output("for f in %s/validator_keys/keystore-*.txt; do cat $f; echo; done", DATA).split():
            secrets[name + " keystore password " + pw[:4]] = pw
    leaked = [label for label, value in secrets.items() if value and value in text]
    assert not leaked, "secrets in the -vvv log: %s" % leaked
