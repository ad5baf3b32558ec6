# -*- coding: utf-8 -*-
"""charon's compose service on the local inventory (FIXTURE data dirs from
tests/fixtures/cluster_factory.py stand in for the ceremony): where the external address goes and
which ports are published, checked on the project Compose v2 itself merges (`docker compose config`),
then fed to the REAL charon v1.10.3 (tests/testbed/build-programs.sh), whose P2P flag checks decide.

- An IP address (v4 or v6) is CHARON_P2P_EXTERNAL_IP, a name CHARON_P2P_EXTERNAL_HOSTNAME: charon
  checks the hostname with IDNA rules (an IPv6 address fails there) and advertises it as /dns/...
- The validator API is published on 127.0.0.1 only (playbooks/exit.yml's default
  http://127.0.0.1:3600 must answer on a real host), its port a role variable.
The realbed molecule scenario runs the same rendering on four real hosts (IPv4, IPv6 and a name)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HOSTS = ["node1", "node2", "node3"]
ADDRESSES = {"node1": "fd00:dbed:9::14", "node2": "198.51.100.7", "node3": "node3.dv.example.org"}


def _tools():
    return os.environ.get("DVOPS_TOOLS_DIR") or os.path.join(ROOT, ".cache", "tools")


COMPOSE = os.path.join(_tools(), "bin", "docker-compose")
pytestmark = pytest.mark.skipif(not os.path.exists(COMPOSE), reason="Compose v2 binary missing: run `make tools`")


def _charon():
    from ansible_collections.dvops.charon.tests.fixtures.programs import ProgramMissing, program_path
    try:
        return program_path("charon")
    except ProgramMissing as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Render charon's compose service for three nodes (run entry point only) and merge each project."""
    from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster, write_node_dirs
    tmp = tmp_path_factory.mktemp("p2p")
    cluster = build_cluster(seed=b"p2p-address", n=4, num_validators=1, network="hoodi")
    for host, src in zip(HOSTS, write_node_dirs(cluster, tmp / "fixture", nodes=[0, 1, 2])):
        shutil.copytree(src, tmp / "nodes" / host / ".charon")
    extra = {"charon_base_dir": str(tmp / "nodes") + "/{{ inventory_hostname }}", "dvops_network": "hoodi",
             "docker_compose_command": COMPOSE, "dvops_stack_start": False,
             "network_external_address": "{{ %s[inventory_hostname] }}" % json.dumps(ADDRESSES).replace('"', "'"),
             "charon_validator_api_port": "{{ 3600 + (groups['dvops_cluster'] | sort).index(inventory_hostname) }}"}
    (tmp / "extra.json").write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "playbooks/node.yml",
                          "--tags", "run", "-i", "inventories/local", "-l", ",".join(HOSTS), "-e", "@%s" % (tmp / "extra.json")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    merged = {}
    for host in HOSTS:
        out = subprocess.run([COMPOSE, "config", "--format", "json"], cwd=tmp / "nodes" / host,
                             capture_output=True, text=True, check=True).stdout
        merged[host] = json.loads(out)["services"]["charon"]
    return merged


@pytest.mark.parametrize("host,key", [("node1", "CHARON_P2P_EXTERNAL_IP"), ("node2", "CHARON_P2P_EXTERNAL_IP"),
                                      ("node3", "CHARON_P2P_EXTERNAL_HOSTNAME")])
def test_external_address_goes_to_the_matching_variable(rendered, host, key):
    env = rendered[host]["environment"]
    assert env[key] == ADDRESSES[host]
    other = ({"CHARON_P2P_EXTERNAL_IP", "CHARON_P2P_EXTERNAL_HOSTNAME"} - {key}).pop()
    assert other not in env, env


def test_validator_api_published_on_loopback_only(rendered):
    for index, host in enumerate(HOSTS):
        ports = [(p.get("host_ip", ""), str(p["published"]), p["target"]) for p in rendered[host]["ports"]]
        assert ("127.0.0.1", str(3600 + index), 3600) in ports, ports
        # P2P (the local inventory's per-node port) stays the only port open to the world.
        assert [p for p in ports if p[0] in ("", "0.0.0.0", "::")] == [("", str(3610 + index), 3610 + index)], ports


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _relay(charon, tmp_path, p2p_env, seconds=90):
    """Start the REAL `charon relay` with the given CHARON_P2P_* environment (bounded, always stopped).
    Returns (multiaddrs it advertises or None, output).  The wait ends as soon as the relay answers or
    exits, so the generous bound costs nothing on an idle machine and spares a loaded one."""
    http = _free_port()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
           "CHARON_P2P_TCP_ADDRESS": "127.0.0.1:%d" % _free_port(), "CHARON_HTTP_ADDRESS": "127.0.0.1:%d" % http,
           "CHARON_DATA_DIR": str(tmp_path / "relay"), "CHARON_LOG_FORMAT": "logfmt"}
    env.update(p2p_env)
    proc = subprocess.Popen([charon, "relay"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    addrs = None
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/" % http, timeout=2) as resp:
                    addrs = json.loads(resp.read())
                    break
            except OSError:
                time.sleep(0.3)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        out = proc.communicate(timeout=20)[0]
    return addrs, out


def _p2p_env(service):
    return {k: v for k, v in service["environment"].items() if k.startswith("CHARON_P2P_EXTERNAL")}


@pytest.mark.parametrize("host,advertised", [("node1", "/ip6/fd00:dbed:9::14/tcp/"), ("node2", "/ip4/198.51.100.7/tcp/"),
                                             ("node3", "/dns/node3.dv.example.org/tcp/")])
def test_real_charon_accepts_the_rendered_address(rendered, tmp_path, host, advertised):
    addrs, out = _relay(_charon(), tmp_path, _p2p_env(rendered[host]))
    assert addrs is not None, out[-3000:]
    assert any(advertised in a for a in addrs), (addrs, out[-2000:])


def test_real_charon_rejects_an_ipv6_hostname(tmp_path):
    # What the role rendered before: the IPv6 address as the hostname. charon refuses to start.
    addrs, out = _relay(_charon(), tmp_path, {"CHARON_P2P_EXTERNAL_HOSTNAME": ADDRESSES["node1"]})
    assert addrs is None and "invalid hostname" in out, out[-2000:]
