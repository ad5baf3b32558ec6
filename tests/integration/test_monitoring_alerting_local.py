# -*- coding: utf-8 -*-
"""The monitoring role with alerts and Alertmanager, rendered on this machine (nothing started):
the rules land in prometheus/rules and prometheus.yml loads them (checked by the REAL promtool),
alertmanager.yml passes the REAL amtool check-config and holds no secret, the webhook URL and SMTP
password sit only in 0600 files and never appear in the output (-v), a rerun changes nothing,
and Alertmanager without a receiver is refused naming the variables and the host.
The webhook URL and SMTP password are FAKE test values."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys

import pytest
import yaml

from ansible_collections.dvops.charon.tests.fixtures import programs

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(programs.tools_dir(), "bin")
WEBHOOK = "https://hooks.example.invalid/FAKE-webhook-secret-7f3a"
SMTP_PASSWORD = "FAKE-smtp-password-91c2"

pytestmark = pytest.mark.skipif(
    not all(os.access(os.path.join(BIN, b), os.X_OK) for b in ("docker-compose", "promtool", "amtool")),
    reason="docker-compose / promtool / amtool missing: make tools")


def play(tmp_path, **extra):
    playbook = tmp_path / "monitoring.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Monitoring only", "hosts": "node1", "gather_facts": False,
                                         "roles": [{"role": "dvops.charon.monitoring"}]}]))
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"node1": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    values = {
        "monitoring_project_dir": str(tmp_path / "node1"),
        "monitoring_start": False,
        "docker_compose_command": os.path.join(BIN, "docker-compose"),
        "monitoring_promtool_command": os.path.join(BIN, "promtool"),
        "monitoring_amtool_command": os.path.join(BIN, "amtool"),
        "monitoring_cluster_name": "test-cluster",
        "monitoring_cluster_peer": "test-peer",
        "monitoring_alertmanager_enabled": True,
        "monitoring_alertmanager_webhook_url": WEBHOOK,
        "monitoring_alertmanager_email_to": "ops@example.invalid",
        "monitoring_alertmanager_email_from": "dv@example.invalid",
        "monitoring_alertmanager_smtp_smarthost": "smtp.example.invalid:587",
        "monitoring_alertmanager_smtp_auth_username": "dv",
        "monitoring_alertmanager_smtp_auth_password": SMTP_PASSWORD,
    }
    values.update(extra)
    (tmp_path / "node1").mkdir(exist_ok=True)
    (tmp_path / "extra.json").write_text(json.dumps(values))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(playbook),
                           "-i", str(inventory), "-e", "@" + str(tmp_path / "extra.json"), "-v"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


def recap(output):
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M)}


def test_alerting_renders_validates_keeps_secrets_and_is_idempotent(tmp_path):
    first = play(tmp_path)
    out = first.stdout + first.stderr
    assert first.returncode == 0, out[-5000:]
    assert WEBHOOK not in out and SMTP_PASSWORD not in out
    assert "Validate alertmanager.yml with amtool" in out and "Validate prometheus.yml" in out

    node = tmp_path / "node1"
    prom = yaml.safe_load((node / "prometheus" / "prometheus.yml").read_text())
    assert prom["rule_files"] == ["rules/*.yml"]
    assert prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    rules = yaml.safe_load((node / "prometheus" / "rules" / "charon-alerts.yml").read_text())
    assert "CharonNodeDown" in [r.get("alert") for g in rules["groups"] for r in g["rules"]]
    # Prometheus' own templates survived Ansible's templating.
    assert "{{ $labels.instance }}" in (node / "prometheus" / "rules" / "charon-alerts.yml").read_text()

    am_text = (node / "alertmanager" / "alertmanager.yml").read_text()
    assert WEBHOOK not in am_text and SMTP_PASSWORD not in am_text
    am = yaml.safe_load(am_text)
    receiver = am["receivers"][0]
    assert receiver["webhook_configs"][0]["url_file"] == "/etc/alertmanager/webhook_url"
    assert receiver["email_configs"][0]["to"] == "ops@example.invalid"
    assert am["global"]["smtp_auth_password_file"] == "/etc/alertmanager/smtp_password"
    for name, secret in (("webhook_url", WEBHOOK), ("smtp_password", SMTP_PASSWORD)):
        path = node / "alertmanager" / name
        assert path.read_text() == secret
        st = os.stat(str(path))
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 65534

    compose = yaml.safe_load((node / "compose-monitoring.yml").read_text())
    assert compose["services"]["alertmanager"]["image"] == "prom/alertmanager:v0.28.1"

    second = play(tmp_path)
    assert second.returncode == 0, second.stdout[-4000:]
    assert recap(second.stdout)["node1"]["changed"] == 0, second.stdout[-4000:]

    # Webhook only: the password file goes, the email receiver goes.
    third = play(tmp_path, monitoring_alertmanager_email_to="", monitoring_alertmanager_smtp_auth_password="")
    assert third.returncode == 0, third.stdout[-4000:]
    assert not (node / "alertmanager" / "smtp_password").exists()
    assert "email_configs" not in yaml.safe_load((node / "alertmanager" / "alertmanager.yml").read_text())["receivers"][0]


def test_alertmanager_without_receiver_is_refused(tmp_path):
    result = play(tmp_path, monitoring_alertmanager_webhook_url="", monitoring_alertmanager_email_to="")
    assert result.returncode != 0
    out = " ".join(result.stdout.split())
    assert "monitoring_alertmanager_enabled on node1 needs a receiver" in out
    assert "monitoring_alertmanager_webhook_url" in out
