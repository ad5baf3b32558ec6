# -*- coding: utf-8 -*-
"""Four organisations, one cluster (issue 11): four separate inventories, one host each, and four separate
`ansible-playbook` processes started at the same time, each reaching only its own host (its own base dir
on this machine, connection local). Each organisation makes its ENR with playbooks/enr.yml; a creator (the
test) makes the definition from the four ENRs (unsigned, as `charon create dkg` without the launchpad) and
hands each organisation a copy of the file; the four then run playbooks/dkg.yml with the charon engine at
once: the REAL `charon dkg` of the image obolnetwork/charon:v1.10.3 (docker run, network host), meeting
through a REAL local `charon relay` (v1.10.3 binary on 127.0.0.1, started and stopped by the test).

Checked: every run ends rc 0; the four locks are byte-identical and verify, with each node at its own
operator index; then the four nodes `charon run` on their lock (real binary, simnet mocks, loopback,
bounded) and every /readyz answers 200. No stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _enr
from ansible_collections.dvops.charon.tests.integration.test_real_charon_crosscheck import charon_bin, local_relay
from ansible_collections.dvops.charon.tests.integration.test_real_charon_dkg import (
    charon_run_nodes, info, need_image, readyz, stop)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ORGS = ["org1", "org2", "org3", "org4"]


def org_inventory(tmp, org, relay):
    """The inventory organisation ``org`` keeps: its one host, nothing of the others."""
    base = tmp / org
    inv = {"all": {"children": {"dvops_cluster": {"hosts": {org + "-node": {}}, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "python_deps_python": sys.executable, "charon_uid": os.getuid(), "charon_gid": os.getgid(),
        "charon_base_dir": str(base / "node"), "charon_backup_dir": str(base / "backups"),
        # TEST VALUE, NOT A SECRET: each organisation's own backup password
        "charon_backup_vault_password": "dvops-test-vault-password-not-secret-" + org,
        "dvops_network": "hoodi", "dvops_dkg_engine": "charon", "dvops_dkg_verify_signatures": False,
        "dvops_definition_file": str(base / "cluster-definition.json"),
        "charon_dkg_p2p_relays": [relay], "charon_dkg_timeout": "120s",
        "charon_dkg_execution_client_rpc_endpoint": ""}}}}}
    path = base / "inventory.json"
    path.write_text(json.dumps(inv))
    return str(path)


def start_all(tmp, playbook, inventories):
    """One ansible-playbook per organisation, all started at once; returns [(rc, output)]."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    procs = []
    for org, inv in zip(ORGS, inventories):
        log = open(str(tmp / org / (os.path.basename(playbook) + ".log")), "w+")
        procs.append((subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook,
                                        "-i", inv], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log))
    results = []
    for proc, log in procs:
        try:
            rc = proc.wait(900)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        log.seek(0)
        results.append((rc, log.read()))
        log.close()
    return results


def test_four_organisations_four_inventories_one_cluster(tmp_path, capsys):
    need_image()
    charon_bin()
    with local_relay(tmp_path) as relay:
        for org in ORGS:
            (tmp_path / org).mkdir()
        inventories = [org_inventory(tmp_path, org, relay) for org in ORGS]
        for rc, out in start_all(tmp_path, "playbooks/enr.yml", inventories):
            assert rc == 0, out[-3000:]
        data_dirs = [str(tmp_path / org / "node" / ".charon") for org in ORGS]
        # Each organisation hands its ENR to the creator, who makes the definition and sends each a copy.
        enrs = [_enr.node_record(_enr.load_private_key_file(os.path.join(d, "charon-enr-private-key")))
                for d in data_dirs]
        d = _cluster.new_definition("four-orgs", enrs, 1, "0x000000000000000000000000000000000000dEaD",
                                    "0x000000000000000000000000000000000000bEEF", network="hoodi")
        for org in ORGS:
            (tmp_path / org / "cluster-definition.json").write_bytes(_cluster.marshal_definition(d))

        start = time.time()
        results = start_all(tmp_path, "playbooks/dkg.yml", inventories)
        took = time.time() - start
        for org, (rc, out) in zip(ORGS, results):
            assert rc == 0, (org, out[-4000:])
            # each run saw only its own host
            assert "%s-node" % org in out and not any("%s-node" % o in out for o in ORGS if o != org), org

        locks = [open(os.path.join(dd, "cluster-lock.json"), "rb").read() for dd in data_dirs]
        assert len(set(locks)) == 1
        for k, dd in enumerate(data_dirs):
            res = info(capsys, dd)
            assert res["valid"] and res["node_index"] == k, res["errors"]
            assert res["keystores"] == 1
            assert (tmp_path / ORGS[k] / "backups" / ("%s-node" % ORGS[k]) / "validator_keys.vault").exists()

        procs, ports = charon_run_nodes(tmp_path, data_dirs, relay)
        try:
            deadline, codes = time.time() + 90, []
            while time.time() < deadline:
                codes = [readyz(p) for p in ports]
                if codes == [200] * 4:
                    break
                time.sleep(1)
            assert codes == [200] * 4, (codes, [open(log.name).read()[-1500:] for _p, log in procs])
        finally:
            stop(procs)
    with capsys.disabled():
        print("\nfour organisations, four concurrent ansible-playbook dkg runs (real charon dkg): %.1f s" % took)


pytestmark = pytest.mark.skipif(not os.path.exists("/var/run/docker.sock"), reason="needs the Docker engine")
