# -*- coding: utf-8 -*-
"""The charon `run` entry point hands the data dir to the container user (uid 4242 here) without
following links a compromised container could plant in it: a link to a root-only file and a link
to a whole directory outside keep their targets' owner and mode, and a rerun changes nothing.
FIXTURE data dir (tests/fixtures/cluster_factory.py, trusted dealer) stands in for a DKG result;
the compose project is validated with the real Compose v2 binary, charon is not started."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = os.path.join(ROOT, ".cache", "tools", "bin")
UID, GID = 4242, 4243

pytestmark = [
    pytest.mark.skipif(not os.path.exists(os.path.join(TOOLS, "docker-compose")),
                       reason="Compose v2 binary missing: run `make tools`"),
    pytest.mark.skipif(os.geteuid() != 0, reason="handing files to another uid needs root"),
]


def _owner_mode(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def _playbook(tmp_path):
    extra = {"charon_base_dir": str(tmp_path / "nodes") + "/{{ inventory_hostname }}", "dvops_network": "hoodi",
             "charon_uid": UID, "charon_gid": GID, "dvops_stack_start": False}
    ev = tmp_path / "extra.json"
    ev.write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "playbooks/node.yml",
                           "-i", "inventories/local", "-l", "node1", "--tags", "run", "-e", "@" + str(ev)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_run_never_chowns_through_a_planted_link(tmp_path):
    from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster, write_node_dirs
    cluster = build_cluster(seed=b"run-no-follow", n=4, num_validators=1, network="hoodi")
    src = write_node_dirs(cluster, tmp_path / "fixture", nodes=[0])[0]
    data = tmp_path / "nodes" / "node1" / ".charon"
    shutil.copytree(src, data)
    outside_dir = tmp_path / "host-etc"
    outside_dir.mkdir(mode=0o700)
    secret = outside_dir / "shadow"
    secret.write_text("root only")
    os.chmod(str(secret), 0o640)
    os.symlink(str(secret), str(data / "planted-file"))
    os.symlink(str(outside_dir), str(data / "validator_keys" / "planted-dir"))
    before = {p: _owner_mode(p) for p in (str(secret), str(outside_dir))}
    assert before[str(secret)][:2] != (UID, GID)

    first = _playbook(tmp_path)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert {p: _owner_mode(p) for p in before} == before, "a link target outside the data dir was changed"
    for dirpath, dirnames, filenames in os.walk(str(data)):
        for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
            if not os.path.islink(name):
                assert _owner_mode(name)[:2] == (UID, GID), name
    assert "planted-file" in first.stdout + first.stderr  # the skipped links are reported (a warning)

    second = _playbook(tmp_path)
    assert second.returncode == 0, second.stdout[-4000:]
    assert re.search(r"node1\s+:\s+ok=\d+\s+changed=0\b", second.stdout), second.stdout[-3000:]
    assert {p: _owner_mode(p) for p in before} == before
