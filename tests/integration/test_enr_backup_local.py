# -*- coding: utf-8 -*-
"""`make run`'s first steps on the local inventory (four nodes), in a temporary base directory:
prepare + enr create four keys and print peer names and ENRs, a rerun changes nothing; the
backup playbook writes vault files ansible-vault decrypts to the keys, reruns change nothing,
and without a password it refuses."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile

from ansible.parsing.vault import VaultLib, VaultSecret

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HOSTS = ["node1", "node2", "node3", "node4"]
PASSWORD = "integration-test-password"


def playbook(tmp_path, playbook_path, *args, extra=None):
    extra_vars = {
        "charon_base_dir": str(tmp_path / "nodes") + "/{{ inventory_hostname }}",
        "charon_backup_dir": str(tmp_path / "backups"),
    }
    extra_vars.update(extra or {})
    ev = tmp_path / "extra.json"
    ev.write_text(json.dumps(extra_vars))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook_path,
                           "-i", "inventories/local", "-e", "@" + str(ev)] + list(args),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    return proc


def recap(output):
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M)}


def test_enr_then_backup(tmp_path):
    first = playbook(tmp_path, "site.yml", "--tags", "prepare,enr")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    enrs = re.findall(r"enr:-[A-Za-z0-9_-]+", first.stdout)
    assert len(set(enrs)) == 4, first.stdout[-3000:]
    for host in HOSTS:
        key = tmp_path / "nodes" / host / ".charon" / "charon-enr-private-key"
        assert re.fullmatch(rb"[0-9a-f]{64}", key.read_bytes())
        assert oct(key.stat().st_mode & 0o777) == "0o600"
        assert re.search(r"'?%s: [a-z]+-[a-z]+'?" % host, first.stdout)
        assert key.read_text() not in first.stdout
    assert all(r["changed"] > 0 for r in recap(first.stdout).values())

    again = playbook(tmp_path, "site.yml", "--tags", "prepare,enr")
    assert again.returncode == 0, again.stdout[-3000:]
    assert set(re.findall(r"enr:-[A-Za-z0-9_-]+", again.stdout)) == set(enrs)
    assert all(r["changed"] == 0 for r in recap(again.stdout).values()), again.stdout[-3000:]

    refused = playbook(tmp_path, "playbooks/backup.yml", extra={"charon_backup_vault_password": ""})
    assert refused.returncode != 0 and "No charon_backup_vault_password" in refused.stdout
    assert not (tmp_path / "backups").exists()

    backup = playbook(tmp_path, "playbooks/backup.yml", extra={"charon_backup_vault_password": PASSWORD})
    assert backup.returncode == 0, backup.stdout[-3000:]
    assert PASSWORD not in backup.stdout
    vault = VaultLib([("default", VaultSecret(PASSWORD.encode()))])
    for host in HOSTS:
        path = tmp_path / "backups" / host / "charon-enr-private-key.vault"
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        plain = bytes(vault.decrypt(path.read_text()))
        with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
            content = tar.extractfile("charon-enr-private-key").read()
        assert content == (tmp_path / "nodes" / host / ".charon" / "charon-enr-private-key").read_bytes()
        assert content.decode() not in backup.stdout

    rerun = playbook(tmp_path, "playbooks/backup.yml", extra={"charon_backup_vault_password": PASSWORD})
    assert rerun.returncode == 0 and all(r["changed"] == 0 for r in recap(rerun.stdout).values()), rerun.stdout[-3000:]
