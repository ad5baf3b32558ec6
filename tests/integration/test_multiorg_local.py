# -*- coding: utf-8 -*-
"""Issue 11: one operator among several organisations. The local inventory's four nodes, with the cluster
values a joining operator does not have (dvops_network, dvops_cluster_name) removed from its group_vars, join
a hoodi definition someone else created (dvops_definition_file, native engine). Real playbooks, modules and
ceremony; Compose v2 and promtool are the real binaries of `make tools`. Checked:
- a given definition of another network than the inventory's dvops_network is refused, naming both, before
  anything is written; other inventory values the definition overrides are named (rc 0, a warning);
- the summary says "threshold 3 of 4" (the definition's operators, not the play's hosts);
- after the DKG the lock decides the network: without dvops_network, geth, lighthouse and the validator
  client run the lock's network; a conflicting dvops_network is refused naming both and the host;
- "add the token later" (--tags monitoring) reads the cluster name from the lock on the host;
- one broken key on node2 fails node2 with the cause, and every other host says, in the operator's terms,
  that the ceremony did not run because of node2 (no 'HostVarsVars' internals).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _enr
from ansible_collections.dvops.charon.tests.fixtures import programs

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HOSTS = ["node1", "node2", "node3", "node4"]
BIN = os.path.join(programs.tools_dir(), "bin")
NAME = "someone-elses-cluster"

pytestmark = pytest.mark.skipif(
    not all(os.access(os.path.join(BIN, b), os.X_OK) for b in ("docker-compose", "promtool")),
    reason="Compose v2 / promtool binaries missing: make tools")


def inventory(tmp):
    """The local inventory as a joining operator has it: no dvops_network, no dvops_cluster_name."""
    dest = tmp / "inventory"
    shutil.copytree(os.path.join(ROOT, "inventories", "local"), str(dest))
    gv = dest / "group_vars" / "all" / "dkg.yml"
    values = yaml.safe_load(gv.read_text())
    for name in ("dvops_network", "dvops_cluster_name"):
        values.pop(name)
    gv.write_text(yaml.safe_dump(values))
    return str(dest / "hosts.yml")


def play(tmp, playbooks, extra=None, args=()):
    variables = {"dvops_local_root": ROOT, "charon_base_dir": str(tmp / "nodes") + "/{{ inventory_hostname }}",
                 "charon_backup_dir": str(tmp / "backups"),
                 "docker_compose_command": os.path.join(BIN, "docker-compose"),
                 "monitoring_promtool_command": os.path.join(BIN, "promtool")}
    variables.update(extra or {})
    ev = tmp / ("extra-%d.json" % len(os.listdir(str(tmp))))
    ev.write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook")] + list(playbooks)
                          + ["-i", str(tmp / "inventory" / "hosts.yml"), "-e", "@" + str(ev)] + list(args),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    out = proc.stdout + proc.stderr
    return proc.returncode, " ".join(out.split()), out


def definition_file(tmp, network="hoodi"):
    """A definition another operator created for the four hosts' ENRs (unsigned: the test skips signatures)."""
    enrs = [_enr.node_record(_enr.load_private_key_file(str(tmp / "nodes" / h / ".charon" / "charon-enr-private-key")))
            for h in HOSTS]
    d = _cluster.new_definition(NAME, enrs, 1, "0x000000000000000000000000000000000000dEaD",
                                "0x000000000000000000000000000000000000bEEF", network=network)
    path = tmp / ("definition-%s.json" % network)
    path.write_bytes(_cluster.marshal_definition(d))
    return str(path)


def only_key(tmp):
    for host in HOSTS:
        assert sorted(os.listdir(str(tmp / "nodes" / host / ".charon"))) == ["charon-enr-private-key"], host


@pytest.fixture(scope="module")
def joined(tmp_path_factory):
    """ENRs made, then the DKG of someone else's hoodi definition; a copy of the ENR-only state is kept."""
    tmp = tmp_path_factory.mktemp("multiorg")
    inventory(tmp)
    rc, flat, out = play(tmp, ["playbooks/enr.yml"])
    assert rc == 0, out[-3000:]
    shutil.copytree(str(tmp / "nodes"), str(tmp / "enr-only"))
    defn = definition_file(tmp)
    # mainnet given as the inventory's network: refused, naming both, before anything is written.
    rc, flat, out = play(tmp, ["playbooks/dkg.yml"], {"dvops_definition_file": defn, "dvops_dkg_verify_signatures": False,
                                                      "dvops_network": "mainnet"})
    wrong_network = (rc, flat)
    only_key(tmp)
    rc, flat, out = play(tmp, ["playbooks/dkg.yml"], {"dvops_definition_file": defn, "dvops_dkg_verify_signatures": False,
                                                      "dvops_threshold": 4, "dvops_num_validators": 1})
    assert rc == 0, out[-4000:]
    return {"tmp": tmp, "definition": defn, "wrong_network": wrong_network, "dkg": flat}


def test_given_definition_of_another_network_is_refused_naming_both(joined):
    rc, flat = joined["wrong_network"]
    assert rc != 0
    assert "dvops_network is 'mainnet' on node1, node2, node3, node4 but the given definition (dvops_definition_file " \
           "%s) is for 'hoodi'" % joined["definition"] in flat, flat[-3000:]
    assert "Set dvops_network: hoodi" in flat


def test_inventory_values_the_definition_overrides_are_named(joined):
    flat = joined["dkg"]
    assert "the given definition (dvops_definition_file %s) decides the cluster, so these inventory values are not " \
           "used: dvops_threshold 4 on node1, node2, node3, node4 (the definition: 3)" % joined["definition"] in flat, \
        flat[-3000:]
    # a value that matches the definition is not reported
    assert "dvops_num_validators" not in flat
    assert "threshold 3 of 4" in flat


def test_without_dvops_network_the_clients_run_the_locks_network(joined):
    tmp = joined["tmp"]
    rc, flat, out = play(tmp, ["playbooks/infra.yml"], args=["--tags", "geth,lighthouse"])
    assert rc == 0, out[-4000:]
    for host in HOSTS:
        el = (tmp / "nodes" / host / "compose-el.yml").read_text()
        cl = (tmp / "nodes" / host / "compose-cl.yml").read_text()
        assert "--hoodi" in el and "mainnet" not in el, el
        assert "hoodi" in cl and "mainnet" not in cl, cl


def test_a_dvops_network_that_is_not_the_locks_is_refused_naming_both_and_the_host(joined):
    tmp = joined["tmp"]
    rc, flat, out = play(tmp, ["playbooks/node.yml"], {"dvops_network": "mainnet"}, args=["--tags", "validator"])
    assert rc != 0
    for host in HOSTS:
        assert "%s: dvops_network is 'mainnet' but the cluster is on 'hoodi' (%s/cluster-lock.json)" % (
            host, tmp / "nodes" / host / ".charon") in flat, flat[-3000:]


def test_adding_the_monitoring_token_later_reads_the_cluster_name_from_the_lock(joined):
    tmp = joined["tmp"]
    token = "FAKE-remote-write-token-5e1f"
    rc, flat, out = play(tmp, ["playbooks/node.yml"], {"monitoring_remote_write_token": token},
                         args=["--tags", "monitoring", "-l", "node1"])
    assert rc == 0, out[-4000:]
    assert token not in out
    conf = yaml.safe_load((tmp / "nodes" / "node1" / "prometheus" / "prometheus.yml").read_text())
    assert conf["global"]["external_labels"]["cluster_name"] == NAME
    assert conf["remote_write"], conf


def test_one_bad_host_every_host_says_what_happened(joined, tmp_path):
    shutil.copytree(str(joined["tmp"] / "enr-only"), str(tmp_path / "nodes"))
    inventory(tmp_path)
    key = tmp_path / "nodes" / "node2" / ".charon" / "charon-enr-private-key"
    os.chmod(str(key), 0o600)
    key.write_text("not a key")
    rc, flat, out = play(tmp_path, ["playbooks/dkg.yml"], {"dvops_definition_file": joined["definition"],
                                                           "dvops_dkg_verify_signatures": False, "dvops_network": "hoodi"})
    assert rc != 0
    assert "HostVarsVars" not in out and "has no attribute" not in out, out[-3000:]
    assert re.search(r"node2.*charon-enr-private-key", flat), flat[-3000:]
    for host in ("node1", "node3", "node4"):
        assert re.search(r"%s: the DKG cannot run: node2 failed reading its DKG status \(node2: "
                         r".*charon-enr-private-key is not a hex" % host, flat), flat[-3000:]


def _fresh_node1(joined, tmp_path):
    """node1's data dir after the DKG, in a base dir where nothing of the stack was written yet."""
    shutil.copytree(str(joined["tmp"] / "nodes" / "node1" / ".charon"), str(tmp_path / "nodes" / "node1" / ".charon"),
                    symlinks=True)
    inventory(tmp_path)
    return tmp_path / "nodes" / "node1"


@pytest.mark.parametrize("compose, answer", [
    ("missing", "failed: "),
    # FAKE: a Compose v1 stand-in that answers as docker-compose 1.29.2 (Debian bookworm's) does.
    ("v1", "answered 1.29.2 (Compose v1)"),
])
def test_no_compose_v2_is_refused_before_any_file_is_written(joined, tmp_path, compose, answer):
    base = _fresh_node1(joined, tmp_path)
    command = str(tmp_path / "no-such-docker-compose")
    if compose == "v1":
        command = str(tmp_path / "FAKE-docker-compose-v1")
        with open(command, "w") as f:
            f.write("#!/bin/sh\necho 1.29.2\n")
        os.chmod(command, 0o755)
    rc, flat, out = play(tmp_path, ["playbooks/node.yml"], {"docker_compose_command": command}, args=["-l", "node1"])
    assert rc != 0
    assert "unknown flag" not in out
    assert "node1: the node stack needs Docker Compose v2, and '%s version --short' %s" % (command, answer) in flat, \
        flat[-3000:]
    assert "Nothing was written" in flat and "docker_compose_command" in flat
    assert sorted(os.listdir(str(base))) == [".charon"]


def test_a_hand_edited_lock_is_copied_from_a_peer_not_restored_from_a_backup(joined, tmp_path):
    base = _fresh_node1(joined, tmp_path)
    lock = base / ".charon" / "cluster-lock.json"
    data = json.loads(lock.read_text())
    data["cluster_definition"]["name"] = "hand-edited"
    os.chmod(str(lock), 0o644)
    lock.write_text(json.dumps(data))
    rc, flat, out = play(tmp_path, ["playbooks/node.yml"], args=["--tags", "run", "-l", "node1"])
    assert rc != 0
    assert "charon will not be started on node1" in flat, flat[-3000:]
    assert "restore the node's .charon backup" not in flat and "Run the DKG first" not in flat
    assert "copy cluster-lock.json from another operator's node" in flat, flat[-3000:]
    assert not (base / "docker-compose.yml").exists()
