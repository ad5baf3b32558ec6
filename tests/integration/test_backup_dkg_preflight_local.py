# -*- coding: utf-8 -*-
"""The DKG checks what the validator_keys backup will need before its first round (issue 11: a run used to end
red with keys made and no backup). Local inventory, four nodes, real playbooks and native ceremony, temporary
base and backup dirs: a mistyped password (the ENR backups prove it), a host without a password, an unwritable
backup dir and one password for threshold-many nodes each stop the play before round 1, naming the host, with
nothing written to any data dir; with each host's own password the ceremony runs and every host's
validator_keys backup opens with that host's password only. No stand-ins."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile

import pytest

from ansible.parsing.vault import AnsibleVaultError, VaultLib, VaultSecret

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HOSTS = ["node1", "node2", "node3", "node4"]
LOCAL_PW = "dvops-local-test-vault-password-not-secret-"     # + host: the local inventory's test values
OWN = "{{ '%s' ~ inventory_hostname }}" % LOCAL_PW


def play(tmp, playbooks, extra=None, backups=None):
    extra_vars = {"charon_base_dir": str(tmp / "nodes") + "/{{ inventory_hostname }}",
                  "charon_backup_dir": str(backups or tmp / "backups")}
    extra_vars.update(extra or {})
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook")] + list(playbooks)
                          + ["-i", "inventories/local", "-e", json.dumps(extra_vars)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    return proc.returncode, " ".join(proc.stdout.split()), proc.stdout


def untouched(tmp):
    """No host holds anything the ceremony (or its prepare phase) writes."""
    for host in HOSTS:
        data = tmp / "nodes" / host / ".charon"
        assert sorted(os.listdir(str(data))) == ["charon-enr-private-key"], (host, os.listdir(str(data)))


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dkg-preflight")
    rc, flat, out = play(tmp, ["playbooks/prepare.yml", "playbooks/enr.yml"])
    assert rc == 0, out[-3000:]
    return tmp


def test_mistyped_and_missing_passwords_stop_the_dkg_before_round_one(nodes):
    password = "{{ 'a-typo' if inventory_hostname == 'node3' else ('' if inventory_hostname == 'node4' else '%s' ~ " \
               "inventory_hostname) }}" % LOCAL_PW
    rc, flat, out = play(nodes, ["playbooks/dkg.yml"], {"charon_backup_vault_password": password})
    assert rc != 0
    assert "node3: the backups charon-enr-private-key in %s/node3 were made with another password" % (nodes / "backups") in flat
    assert "No charon_backup_vault_password for node4" in flat
    assert "DKG round 1/3" not in out and "a-typo" not in out
    untouched(nodes)


def test_unwritable_backup_dir_stops_the_dkg_before_round_one(nodes, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    rc, flat, out = play(nodes, ["playbooks/dkg.yml"], backups=blocker / "backups")
    assert rc != 0
    assert re.search(r"node\d: the backup directory %s/node\d on the controller is not writable" % (blocker / "backups"), flat), out[-3000:]
    assert "DKG round 1/3" not in out
    untouched(nodes)


def test_one_password_for_threshold_many_stops_the_dkg_before_round_one(nodes, tmp_path):
    shared = "{{ 'shared' if inventory_hostname != 'node4' else 'own-node4' }}"
    rc, flat, out = play(nodes, ["playbooks/dkg.yml"], {"charon_backup_vault_password": shared}, backups=tmp_path / "b")
    assert rc != 0
    assert "one charon_backup_vault_password protects the backups of node1, node2, node3 (3 nodes, threshold 3)" in flat
    assert "DKG round 1/3" not in out
    untouched(nodes)


def test_with_each_hosts_own_password_the_ceremony_runs_and_each_backup_opens_with_that_password_only(nodes):
    rc, flat, out = play(nodes, ["playbooks/dkg.yml"], {"charon_backup_vault_password": OWN})
    assert rc == 0, out[-4000:]
    for host in HOSTS:
        path = nodes / "backups" / host / "validator_keys.vault"
        plain = bytes(VaultLib([("default", VaultSecret((LOCAL_PW + host).encode()))]).decrypt(path.read_text()))
        with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
            txt = tar.extractfile("validator_keys/keystore-0.txt").read()
        assert txt == (nodes / "nodes" / host / ".charon" / "validator_keys" / "keystore-0.txt").read_bytes()
        other = LOCAL_PW + ("node1" if host != "node1" else "node2")
        with pytest.raises(AnsibleVaultError):
            VaultLib([("default", VaultSecret(other.encode()))]).decrypt(path.read_text())
