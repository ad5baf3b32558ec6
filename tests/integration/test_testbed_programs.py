# -*- coding: utf-8 -*-
"""The test bed's programs and images (tests/testbed/build-programs.sh, build-images.sh).

REAL: charon and geth, built from their Go modules at the versions the roles pin; their images
run those binaries (charon's image is exercised by starting the real `charon relay` in it and
reading its monitoring endpoint with the image's own wget, the tool the compose healthcheck calls).
Prometheus and node-exporter images run Debian's packages (real programs, another version than
the tag: the label says which). FAKE: lighthouse (beacon + VC), teku, lodestar, grafana images run
tests/testbed/images/fake/fake.py; the tests check that they say so.

Needs the programs and images (`make testbed`, or build-programs.sh + build-images.sh). Without
them the tests skip, unless DVOPS_TESTBED_REQUIRED=1 (set by `make test`), where they fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import uuid

import pytest

from ansible_collections.dvops.charon.tests.fixtures.programs import (
    ProgramMissing, pinned_version, program_path)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TESTBED = os.path.join(ROOT, "tests", "testbed")
REQUIRED = os.environ.get("DVOPS_TESTBED_REQUIRED") == "1"
FAKE_KINDS = {"lighthouse", "teku", "lodestar", "grafana"}


def _missing(reason):
    if REQUIRED:
        pytest.fail(reason + " (DVOPS_TESTBED_REQUIRED=1: `make testbed` should have built it)")
    pytest.skip(reason)


def run(cmd, timeout=120, check=True):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check:
        assert proc.returncode == 0, "%s -> %s\n%s%s" % (cmd, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


def images():
    """(kind, ref) as the roles render them (the same reader build-images.sh uses)."""
    out = run(["python3", os.path.join(TESTBED, "programs", "pins.py"), "images"]).stdout
    return [tuple(line.split()) for line in out.splitlines()]


def ref_of(kind):
    return next(ref for k, ref in images() if k == kind)


@pytest.fixture(scope="module")
def docker():
    if not shutil.which("docker") or run(["docker", "info"], check=False).returncode != 0:
        _missing("the Docker engine is not reachable")
    return "docker"


def inspect(ref):
    proc = run(["docker", "image", "inspect", ref], check=False)
    if proc.returncode != 0:
        _missing("image %s is not built: bash tests/testbed/build-images.sh" % ref)
    return json.loads(proc.stdout)[0]


def program(name):
    try:
        return program_path(name)
    except ProgramMissing as exc:
        _missing(str(exc))
    return None


def file_sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def image_sha256(ref, path):
    """sha256 of a file inside the image (the image carries the cached build, byte for byte)."""
    return run(["docker", "run", "--rm", "--entrypoint", "sha256sum", ref, path]).stdout.split()[0]


# --- the binaries ---------------------------------------------------------------------------------

def test_charon_binary_reports_the_pinned_release():
    version = pinned_version("charon")
    first = run([program("charon"), "version"]).stdout.splitlines()[0]
    # The release build's ldflags (app/version.version), not the source's "v1.10" fallback.
    assert re.match(r"^%s \[git_commit_hash=[0-9a-f]{7},git_commit_time=\S+\]$" % re.escape(version), first), first


def test_geth_binary_reports_the_pinned_release():
    version = pinned_version("geth")
    out = run([program("geth"), "version"]).stdout
    assert "Version: %s-stable" % version.lstrip("v") in out.splitlines(), out


def test_cached_programs_record_their_inputs():
    for name in ("charon", "geth"):
        path = program(name)
        inputs = open(path + ".inputs", encoding="utf-8").read()
        assert "program %s %s\n" % (name, pinned_version(name)) in inputs, inputs


def test_mev_boost_is_refused_with_the_reason():
    proc = run(["bash", os.path.join(TESTBED, "build-programs.sh"), "mev-boost"], timeout=120, check=False)
    assert proc.returncode != 0
    assert "mev-boost cannot be built here" in proc.stderr, proc.stderr
    assert "no role pins a version" in proc.stderr, proc.stderr


# --- the images -----------------------------------------------------------------------------------

def test_image_names_are_the_ones_the_roles_render(docker):
    refs = dict((ref, kind) for kind, ref in images())
    assert refs["obolnetwork/charon:" + pinned_version("charon")] == "charon"
    assert refs["ethereum/client-go:" + pinned_version("geth")] == "geth"
    # The compose templates render exactly these expressions (a new image variable needs a recipe).
    templates = {
        "charon/templates/docker-compose.yml.j2": '"{{ charon_image }}:{{ charon_version }}"',
        "geth/templates/compose-el.yml.j2": '"{{ geth_image }}:{{ geth_version }}"',
        "lighthouse/templates/compose-cl.yml.j2": '"{{ lighthouse_image }}:{{ lighthouse_version }}"',
        "validator/templates/compose-vc.yml.j2": '"{{ validator_images[validator_client] }}"',
        "monitoring/templates/compose-monitoring.yml.j2": '"{{ monitoring_prometheus_image }}"',
    }
    for path, expr in templates.items():
        text = open(os.path.join(ROOT, "roles", path), encoding="utf-8").read()
        assert [line.strip() for line in text.splitlines() if line.strip().startswith("image:")][0] == "image: " + expr
    for ref, kind in refs.items():
        labels = inspect(ref)["Config"]["Labels"] or {}
        assert labels.get("org.dvops.testbed.inputs"), (ref, labels)
        assert (kind in FAKE_KINDS) == ("org.dvops.testbed.fake" in labels), (ref, labels)


def test_charon_image_is_shaped_like_upstream(docker):
    ref = ref_of("charon")
    config = inspect(ref)["Config"]
    assert config["User"] == "charon"
    assert config["WorkingDir"] == "/opt/charon"
    assert config["Entrypoint"] == ["/usr/local/bin/charon"]
    assert config["Cmd"] == ["run"]
    ids = run(["docker", "run", "--rm", "--entrypoint", "sh", ref, "-c", "id -u; id -g; id -un; pwd"]).stdout.split()
    assert ids == ["1000", "1000", "charon", "/opt/charon"]
    out = run(["docker", "run", "--rm", ref, "version"]).stdout
    assert out.startswith(pinned_version("charon") + " ["), out
    assert image_sha256(ref, "/usr/local/bin/charon") == file_sha256(program("charon"))


def test_charon_image_serves_monitoring_to_its_own_wget(docker):
    """The real charon (`charon relay`) in the image, checked the way the compose healthcheck
    checks charon: `wget -qO- http://localhost:3620/...` inside the container."""
    ref = ref_of("charon")
    name = "dvops-test-relay-%s" % uuid.uuid4().hex[:8]
    run(["docker", "run", "-d", "--rm", "--name", name, "--network", "none", ref, "relay",
         "--monitoring-address=0.0.0.0:3620", "--http-address=0.0.0.0:3640",
         "--p2p-tcp-address=127.0.0.1:3610", "--p2p-relays="])
    try:
        deadline, out = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            out = run(["docker", "exec", name, "wget", "-qO-", "http://localhost:3620/metrics"], check=False)
            if out.returncode == 0:
                break
            time.sleep(1)
        logs = run(["docker", "logs", name], check=False)
        assert out is not None and out.returncode == 0, (out.stderr if out else "", logs.stdout[-2000:], logs.stderr[-2000:])
        # charon relay labels its metrics with its peer name (cmd/relay/relay.go).
        assert re.search(r'^go_goroutines\{relay_peer="[a-z]+-[a-z]+"\} \d+', out.stdout, re.M), out.stdout[:2000]
        # The relay created its key in the data dir under the workdir, as uid 1000.
        owner = run(["docker", "exec", name, "stat", "-c", "%u %a", "/opt/charon/.charon/charon-enr-private-key"]).stdout
        assert owner.split()[0] == "1000", owner
    finally:
        run(["docker", "rm", "-f", name], check=False)


def test_geth_image_runs_the_pinned_geth(docker):
    ref = ref_of("geth")
    config = inspect(ref)["Config"]
    assert config["Entrypoint"] == ["geth"]
    out = run(["docker", "run", "--rm", ref, "version"]).stdout
    assert "Version: %s-stable" % pinned_version("geth").lstrip("v") in out.splitlines(), out
    assert image_sha256(ref, "/usr/local/bin/geth") == file_sha256(program("geth"))


@pytest.mark.parametrize("kind, package, version_cmd", [
    ("prometheus", "prometheus", ["--version"]),
    ("node-exporter", "prometheus-node-exporter", ["--version"]),
])
def test_monitoring_images_run_the_debian_programs(docker, kind, package, version_cmd):
    ref = ref_of(kind)
    config = inspect(ref)["Config"]
    real = config["Labels"]["org.dvops.testbed.real"]
    match = re.match(r"^%s (\S+) \(Debian package\) under the tag of %s$" % (re.escape(package), re.escape(ref)), real)
    assert match, real
    assert config["User"] == "nobody"
    proc = run(["docker", "run", "--rm", ref] + version_cmd)
    upstream = match.group(1).split("+")[0].split("-")[0]
    assert re.search(r"version %s\b" % re.escape(upstream), proc.stdout + proc.stderr), (real, proc.stdout, proc.stderr)


def test_prometheus_image_checks_a_config_like_the_roles(docker, tmp_path):
    """The role's compose command (--config.file, --storage.tsdb.path, user 65534) starts it."""
    ref = ref_of("prometheus")
    (tmp_path / "prometheus.yml").write_text("global:\n  scrape_interval: 15s\nscrape_configs:\n"
                                             "  - job_name: prometheus\n    static_configs:\n"
                                             "      - targets: [\"localhost:9090\"]\n")
    os.chmod(tmp_path, 0o755)
    name = "dvops-test-prom-%s" % uuid.uuid4().hex[:8]
    run(["docker", "run", "-d", "--rm", "--name", name, "--network", "none", "--user", "65534:65534",
         "-v", "%s:/etc/prometheus:ro" % tmp_path, "--tmpfs", "/prometheus:uid=65534",
         ref, "--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"])
    try:
        deadline, out = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            out = run(["docker", "exec", name, "wget", "-qO-", "http://localhost:9090/-/ready"], check=False)
            if out.returncode == 0:
                break
            time.sleep(1)
        assert out is not None and out.returncode == 0, run(["docker", "logs", name], check=False).stderr[-2000:]
    finally:
        run(["docker", "rm", "-f", name], check=False)


@pytest.mark.parametrize("kind, cmd", [
    ("lighthouse", ["lighthouse", "--version"]),
    ("teku", ["--version"]),
    ("lodestar", ["--version"]),
    ("grafana", ["--version"]),
])
def test_fake_images_say_fake(docker, kind, cmd):
    ref = ref_of(kind)
    labels = inspect(ref)["Config"]["Labels"]
    assert labels["org.dvops.testbed.fake"].startswith("FAKE stand-in for %s:" % ref), labels
    out = run(["docker", "run", "--rm", ref] + cmd).stdout
    assert out.startswith("FAKE "), out


def test_fake_lighthouse_answers_the_beacon_health_endpoint(docker):
    """The FAKE beacon node started with the role's command line answers /eth/v1/node/health and
    says FAKE in every answer (so nothing downstream mistakes it for a beacon node)."""
    ref = ref_of("lighthouse")
    name = "dvops-test-fakebn-%s" % uuid.uuid4().hex[:8]
    run(["docker", "run", "-d", "--rm", "--name", name, "--network", "none", ref, "lighthouse", "bn",
         "--network=hoodi", "--http", "--http-address=0.0.0.0", "--http-port=5052", "--metrics", "--metrics-port=5054"])
    try:
        deadline, out = time.monotonic() + 30, None
        while time.monotonic() < deadline:
            out = run(["docker", "exec", name, "wget", "-qSO-", "http://localhost:5052/eth/v1/node/version"], check=False)
            if out.returncode == 0:
                break
            time.sleep(0.5)
        assert out is not None and out.returncode == 0, out.stderr if out else ""
        assert json.loads(out.stdout)["data"]["version"].startswith("FAKE-lighthouse/")
        assert "X-Dvops-Fake: lighthouse" in out.stderr
        run(["docker", "exec", name, "wget", "-qO-", "http://localhost:5054/metrics"])
        assert run(["docker", "logs", name]).stdout.startswith("FAKE lighthouse ")
    finally:
        run(["docker", "rm", "-f", name], check=False)


def test_second_build_builds_nothing(docker):
    """The cache is keyed on the inputs: with everything built, both scripts are no-ops."""
    for name in ("charon", "geth"):
        program(name)
    for ref in {ref for _kind, ref in images()}:
        inspect(ref)
    proc = run(["bash", os.path.join(TESTBED, "build-images.sh")], timeout=300)
    out = proc.stdout
    assert "building" not in out and "built in" not in out, out
    assert out.count("cached, nothing to build") == 2, out
    assert out.count("up to date") == len(images()), out
