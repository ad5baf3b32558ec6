# -*- coding: utf-8 -*-
"""`make run`'s first steps on the local inventory (four nodes), in a temporary base directory:
prepare + enr create four keys, print peer names and ENRs and back the keys up (vault files
ansible-vault decrypts to the keys); a rerun changes nothing; the backup playbook refuses
without a password, changes nothing when current and re-encrypts under a new password when asked to rotate.
One password for all four nodes needs charon_backup_allow_shared_secret (per-host passwords and the refusals:
test_backup_secrets_local.py)."""

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
        "charon_backup_vault_password": PASSWORD,
        "charon_backup_allow_shared_secret": True,
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

    check_backups(tmp_path, PASSWORD, first.stdout)
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "backups").rglob("*")}

    refused = playbook(tmp_path, "playbooks/backup.yml", extra={"charon_backup_vault_password": ""})
    assert refused.returncode != 0 and "No charon_backup_vault_password" in refused.stdout
    assert stamps == {p: p.stat().st_mtime_ns for p in (tmp_path / "backups").rglob("*")}

    current = playbook(tmp_path, "playbooks/backup.yml")
    assert current.returncode == 0 and all(r["changed"] == 0 for r in recap(current.stdout).values()), current.stdout[-3000:]

    rotated = playbook(tmp_path, "playbooks/backup.yml", extra={"charon_backup_vault_password": "rotated-" + PASSWORD,
                                                                "charon_backup_rotate": True,
                                                                "charon_backup_old_vault_password": PASSWORD})
    assert rotated.returncode == 0 and all(r["changed"] > 0 for r in recap(rotated.stdout).values()), rotated.stdout[-3000:]
    check_backups(tmp_path, "rotated-" + PASSWORD, rotated.stdout)


def check_backups(tmp_path, password, stdout):
    assert password not in stdout
    vault = VaultLib([("default", VaultSecret(password.encode()))])
    for host in HOSTS:
        path = tmp_path / "backups" / host / "charon-enr-private-key.vault"
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        plain = bytes(vault.decrypt(path.read_text()))
        with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
            content = tar.extractfile("charon-enr-private-key").read()
        assert content == (tmp_path / "nodes" / host / ".charon" / "charon-enr-private-key").read_bytes()
        assert content.decode() not in stdout
