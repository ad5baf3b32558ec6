# -*- coding: utf-8 -*-
"""Backups on the local inventory (four nodes, real playbooks, temporary base and backup dirs): each host's
backups are under that host's own password; one password for threshold-many nodes is refused before a key is
made (unless charon_backup_allow_shared_secret); another password never replaces a backup (the host is named,
its files stay as they were); rotation is explicit and re-encrypts; no password sits in a module payload kept
on the host with ANSIBLE_KEEP_REMOTE_FILES=1, nor in the -vvv output. No stand-ins: real modules, real keys."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

from ansible.parsing.vault import AnsibleVaultError, VaultLib, VaultSecret

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HOSTS = ["node1", "node2", "node3", "node4"]
LOCAL_PW = "dvops-local-test-vault-password-not-secret-"     # + host: the local inventory's test values


def playbook(tmp, backups, playbook_path, *args, extra=None, env_extra=None):
    extra_vars = {"charon_base_dir": str(tmp / "nodes") + "/{{ inventory_hostname }}", "charon_backup_dir": str(backups)}
    extra_vars.update(extra or {})
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.update(env_extra or {})
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook_path,
                           "-i", "inventories/local", "-e", json.dumps(extra_vars)] + list(args),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


def flat(output):
    """The output with every run of whitespace as one space (messages wrap differently per callback)."""
    return " ".join(output.split())


def recap(output):
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M)}


def snapshot(directory):
    return {str(p): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def vault_open(path, password):
    return bytes(VaultLib([("default", VaultSecret(password.encode()))]).decrypt(path.read_text()))


def enr_key_in(path, password):
    with tarfile.open(fileobj=io.BytesIO(vault_open(path, password))) as tar:
        return tar.extractfile("charon-enr-private-key").read()


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    """Keys of the four local nodes and their backups, each under the inventory's per-host test password."""
    tmp = tmp_path_factory.mktemp("backup")
    first = playbook(tmp, tmp / "backups", "site.yml", "--tags", "prepare,enr")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    return tmp


def test_each_host_backup_opens_with_its_own_password_only(nodes):
    for host in HOSTS:
        path = nodes / "backups" / host / "charon-enr-private-key.vault"
        assert enr_key_in(path, LOCAL_PW + host) == (nodes / "nodes" / host / ".charon" / "charon-enr-private-key").read_bytes()
        other = LOCAL_PW + ("node1" if host != "node1" else "node2")
        with pytest.raises(AnsibleVaultError):
            vault_open(path, other)


def test_one_password_for_threshold_many_nodes_is_refused_before_a_key_is_made(tmp_path):
    shared3 = "{{ 'shared-by-three' if inventory_hostname in ['node1', 'node2', 'node3'] else 'own-' ~ inventory_hostname }}"
    refused = playbook(tmp_path, tmp_path / "backups", "site.yml", "--tags", "prepare,enr",
                       extra={"charon_backup_vault_password": shared3})
    assert refused.returncode != 0
    for host in ("node1", "node2", "node3"):
        assert re.search(r"%s: one charon_backup_vault_password protects the backups of node1, node2, node3 \(3 nodes, "
                         r"threshold 3\)" % host, flat(refused.stdout)), refused.stdout[-3000:]
    assert "charon_backup_allow_shared_secret" in flat(refused.stdout) and "shared-by-three" not in refused.stdout
    for host in ("node1", "node2", "node3"):   # refused before the key was made: no key without a backup
        assert not (tmp_path / "nodes" / host / ".charon" / "charon-enr-private-key").exists()
    assert recap(refused.stdout)["node4"]["failed"] == 0

    shared2 = "{{ 'shared-by-two' if inventory_hostname in ['node1', 'node2'] else 'own-' ~ inventory_hostname }}"
    two = playbook(tmp_path, tmp_path / "backups", "site.yml", "--tags", "prepare,enr", extra={"charon_backup_vault_password": shared2})
    assert two.returncode == 0, two.stdout[-3000:]      # 2 < threshold 3: allowed
    assert enr_key_in(tmp_path / "backups" / "node2" / "charon-enr-private-key.vault", "shared-by-two")


def test_shared_secret_opt_in_and_plaintext_count_as_one_secret(tmp_path):
    opted = playbook(tmp_path, tmp_path / "backups", "site.yml", "--tags", "prepare,enr",
                     extra={"charon_backup_vault_password": "one-for-all", "charon_backup_allow_shared_secret": True})
    assert opted.returncode == 0, opted.stdout[-3000:]
    assert "WARNING node1: one backup secret protects node1, node2, node3, node4 (threshold 3)" in flat(opted.stdout)
    assert enr_key_in(tmp_path / "backups" / "node4" / "charon-enr-private-key.vault", "one-for-all")

    plain = playbook(tmp_path, tmp_path / "plain", "playbooks/backup.yml",
                     extra={"charon_backup_vault_password": "", "charon_backup_allow_plaintext": True})
    assert plain.returncode != 0 and "no secret at all (charon_backup_allow_plaintext) protects the backups of node1, node2, " \
        "node3, node4" in flat(plain.stdout), plain.stdout[-3000:]
    assert not (tmp_path / "plain").exists() or not any((tmp_path / "plain").rglob("*.tar.b64"))


def test_another_password_never_replaces_a_backup(nodes, tmp_path):
    backups = tmp_path / "backups"
    shutil.copytree(str(nodes / "backups"), str(backups))
    before = snapshot(backups)
    typo = "{{ 'a-typo' if inventory_hostname == 'node2' else '%s' ~ inventory_hostname }}" % LOCAL_PW
    run = playbook(nodes, backups, "playbooks/backup.yml", extra={"charon_backup_vault_password": typo})
    assert run.returncode != 0
    stats = recap(run.stdout)
    assert stats["node2"]["failed"] == 1 and all(stats[h]["failed"] == 0 and stats[h]["changed"] == 0 for h in HOSTS if h != "node2")
    out = flat(run.stdout)
    assert "node2: the backups charon-enr-private-key in %s/node2 were made with another password" % backups in out
    assert "run again with charon_backup_rotate=true and the old password in charon_backup_old_vault_password" in out
    assert out.count("were made with another password") == 2     # the failed task's result and the error line, node2 only
    assert "a-typo" not in run.stdout
    assert snapshot(backups) == before


def test_rotation_is_explicit_reencrypts_and_then_changes_nothing(nodes, tmp_path):
    backups = tmp_path / "backups"
    shutil.copytree(str(nodes / "backups"), str(backups))
    new = "{{ 'rotated-node2' if inventory_hostname == 'node2' else '%s' ~ inventory_hostname }}" % LOCAL_PW
    extra = {"charon_backup_vault_password": new, "charon_backup_rotate": "{{ inventory_hostname == 'node2' }}",
             "charon_backup_old_vault_password": "{{ '%s' ~ inventory_hostname }}" % LOCAL_PW}

    wrong = playbook(nodes, backups, "playbooks/backup.yml",
                     extra=dict(extra, charon_backup_old_vault_password="not-the-old-one"))
    assert wrong.returncode != 0 and "open with neither charon_backup_old_vault_password" in flat(wrong.stdout)
    assert enr_key_in(backups / "node2" / "charon-enr-private-key.vault", LOCAL_PW + "node2")

    rotated = playbook(nodes, backups, "playbooks/backup.yml", extra=extra)
    assert rotated.returncode == 0, rotated.stdout[-3000:]
    stats = recap(rotated.stdout)
    assert stats["node2"]["changed"] > 0 and all(stats[h]["changed"] == 0 for h in HOSTS if h != "node2")
    assert "re-encrypted to the new password: charon-enr-private-key" in flat(rotated.stdout)
    key2 = (nodes / "nodes" / "node2" / ".charon" / "charon-enr-private-key").read_bytes()
    assert enr_key_in(backups / "node2" / "charon-enr-private-key.vault", "rotated-node2") == key2
    with pytest.raises(AnsibleVaultError):
        vault_open(backups / "node2" / "charon-enr-private-key.vault", LOCAL_PW + "node2")

    again = playbook(nodes, backups, "playbooks/backup.yml", extra=extra)
    assert again.returncode == 0 and all(r["changed"] == 0 for r in recap(again.stdout).values()), again.stdout[-3000:]
    plain = playbook(nodes, backups, "playbooks/backup.yml", extra={"charon_backup_vault_password": new})
    assert plain.returncode == 0 and all(r["changed"] == 0 for r in recap(plain.stdout).values()), plain.stdout[-3000:]


def _payload_texts(directory):
    """Every file under ``directory`` and, for AnsiballZ payloads, every member of the embedded zip."""
    for path in directory.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        yield str(path), data
        for match in re.finditer(rb"ZIPDATA = (?:b)?[\"']{1,3}([A-Za-z0-9+/=\s]+)[\"']{1,3}", data):
            with zipfile.ZipFile(io.BytesIO(base64.b64decode(match.group(1)))) as archive:
                for name in archive.namelist():
                    yield "%s!%s" % (path, name), archive.read(name)


def test_no_password_in_kept_module_payloads_or_vvv_output(nodes, tmp_path):
    """ANSIBLE_KEEP_REMOTE_FILES=1 keeps every module payload on the host (it also turns pipelining off);
    the backup modules' payloads, args included, must not hold a password: it never leaves the controller."""
    remote_tmp = tmp_path / "remote-tmp"
    run = playbook(nodes, tmp_path / "fresh-backups", "playbooks/backup.yml", "-vvv",
                   extra={"charon_backup_vault_password": "kept-payload-test-{{ inventory_hostname }}"},
                   env_extra={"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": str(remote_tmp)})
    assert run.returncode == 0, run.stdout[-3000:]
    assert all(r["changed"] > 0 for r in recap(run.stdout).values())    # backups written: the module packed content
    passwords = [("kept-payload-test-" + h).encode() for h in HOSTS]
    seen_args = False
    for name, text in _payload_texts(remote_tmp):
        for pw in passwords:
            assert pw not in text, "password in the kept payload %s" % name
            assert base64.b64encode(pw) not in text, name
        # Positive control: the scan reads the kept charon_backup payload's arguments (the path to back up).
        if b'"paths"' in text and (str(nodes / "nodes" / "node1" / ".charon") + "/charon-enr-private-key").encode() in text:
            seen_args = True
    assert seen_args, "no kept charon_backup payload with its arguments found under %s" % remote_tmp
    for pw in passwords:
        assert pw.decode() not in run.stdout and pw.decode() not in run.stderr
