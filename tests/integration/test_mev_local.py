# -*- coding: utf-8 -*-
"""MEV wiring on the local inventory (tests/integration/test_stack_local.py's set-up: FIXTURE data
dirs, nothing started, the REAL Compose v2 validating every project), and the REAL charon taking
the builder mode the role renders.

- builder mode on for the cluster: compose-mev.yml (pinned mev-boost, hoodi relays, timeouts,
  min-bid), lighthouse --builder=http://mev-boost:18550, the VC's builder proposals with the boost
  factor, charon CHARON_BUILDER_API=true; a rerun changes nothing.
- operators disagreeing on the builder mode: the infrastructure play refuses, naming the hosts.
- four real charon v1.10.3 simnet nodes started with CHARON_BUILDER_API as the charon template
  renders it parse it as builder-api=true, get ready, and report every peer's builder API on.

mev-boost itself cannot be built here (the Go module proxy refuses github.com/flashbots/mev-boost),
so its flags are checked against its documentation only, not against the binary."""

from __future__ import annotations

import os
import re
import time

import pytest
import yaml

from ansible_collections.dvops.charon.tests.fixtures import programs
from ansible_collections.dvops.charon.tests.integration.test_stack_local import TOOLS, _nodes, playbook, recap

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.mark.skipif(not os.path.exists(os.path.join(TOOLS, "docker-compose")), reason="make tools")
def test_builder_mode_wires_mev_boost_lighthouse_vc_and_charon(tmp_path):
    _nodes(tmp_path)
    first = playbook(tmp_path, extra={"charon_builder_api": True, "validator_builder_boost_factor": 90})
    assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-2000:]
    assert re.search(r"Refuse a cluster whose operators disagree on the builder mode\] \*+\nok: \[node1\]", first.stdout)
    for host in ("node1", "node2"):
        base = tmp_path / "nodes" / host
        mev = yaml.safe_load((base / "compose-mev.yml").read_text())["services"]["mev-boost"]
        assert mev["image"] == "flashbots/mev-boost:1.9"
        args = mev["command"]
        assert args[0] == "-hoodi" and "-relay-check" in args
        relays = [a for a in args if a.startswith("-relays=")][0][len("-relays="):].split(",")
        assert len(relays) == 3 and all(re.match(r"^https://0x[0-9a-f]{96}@", r) for r in relays)
        assert "-min-bid=0" in args and "-request-timeout-getheader=950" in args
        assert "-request-timeout-getpayload=4000" in args and "-request-timeout-regval=3000" in args
        cl = yaml.safe_load((base / "compose-cl.yml").read_text())["services"]["lighthouse"]["command"]
        assert "--builder=http://mev-boost:18550" in cl
        vc = (base / "validator" / "run-lighthouse.sh").read_text()
        assert "--builder-proposals --builder-boost-factor 90" in vc
        charon = yaml.safe_load((base / "docker-compose.yml").read_text())["services"]["charon"]
        assert charon["environment"]["CHARON_BUILDER_API"] == "true"
        assert "compose-mev.yml" in (base / ".env").read_text()
    again = playbook(tmp_path, "--tags", "infrastructure", extra={"charon_builder_api": True,
                                                                  "validator_builder_boost_factor": 90})
    assert again.returncode == 0, again.stdout[-4000:]
    assert all(r["changed"] == 0 for r in recap(again.stdout).values()), again.stdout[-4000:]

    # Builder mode off again: the fragment goes, lighthouse has no --builder.
    off = playbook(tmp_path, "--tags", "lighthouse,mev", extra={"charon_builder_api": False})
    assert off.returncode == 0, off.stdout[-4000:]
    assert not (tmp_path / "nodes/node1/compose-mev.yml").exists()
    cl = yaml.safe_load((tmp_path / "nodes/node1/compose-cl.yml").read_text())["services"]["lighthouse"]["command"]
    assert not [a for a in cl if a.startswith("--builder")]


@pytest.mark.skipif(not os.path.exists(os.path.join(TOOLS, "docker-compose")), reason="make tools")
def test_operators_disagreeing_on_the_builder_mode_are_refused(tmp_path):
    _nodes(tmp_path)
    res = playbook(tmp_path, "--tags", "mev", extra={"charon_builder_api": "{{ inventory_hostname == 'node1' }}"})
    assert res.returncode != 0
    out = " ".join(res.stdout.split())
    assert "disagree on the builder mode (charon_builder_api): on for node1, off for node2" in out, out[-3000:]
    assert not (tmp_path / "nodes/node1/compose-mev.yml").exists()


def test_real_charon_takes_the_rendered_builder_mode(tmp_path):
    try:
        programs.program_path("charon")
    except programs.ProgramMissing as exc:
        pytest.skip(str(exc))
    from ansible_collections.dvops.charon.tests.fixtures.charon_simnet import SimnetCluster, http_get
    with open(os.path.join(ROOT, "roles", "charon", "templates", "docker-compose.yml.j2"), encoding="utf-8") as handle:
        assert 'CHARON_BUILDER_API: "{{ charon_builder_api | bool | lower }}"' in handle.read()
    env = {"CHARON_BUILDER_API": "true"}  # what that line renders for charon_builder_api: true
    with SimnetCluster(tmp_path / "bed", n=4, max_seconds=300, node_env=dict((i, env) for i in range(4))) as bed:
        bed.wait_ready(timeout=120)
        parsed = [line for line in bed.log("node0").splitlines() if "Parsed config" in line][0]
        assert '"builder-api": "true"' in parsed
        deadline = time.time() + 90
        while True:
            body = http_get(bed.monitoring_url(0) + "/metrics")[1]
            flags = re.findall(r'^app_peerinfo_builder_api_enabled\{.*peer="([^"]+)"\} (\S+)$', body, re.M)
            if len(flags) == 4:
                break
            assert time.time() < deadline, flags
            time.sleep(2)
        assert all(value == "1" for _peer, value in flags), flags
