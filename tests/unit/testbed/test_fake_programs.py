# -*- coding: utf-8 -*-
"""The FAKE stand-ins' command-line reading (tests/testbed/images/fake/fake.py).

fake.py decides from the real program's command line whether it is a long-running service (serve
the ports that line names and stay up) or a one-shot command (exit 0). Reading that wrong makes the
FAKE exit at once where the real program runs, and compose restarts it in a loop: that is what the
validator role's run-lighthouse.sh line (`lighthouse --network hoodi validator ...`: a global flag
with a value before the subcommand) did. The command lines below are the roles' own.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
FAKE_PY = os.path.join(ROOT, "tests", "testbed", "images", "fake", "fake.py")


@pytest.fixture(scope="module")
def fake():
    spec = importlib.util.spec_from_file_location("dvops_testbed_fake", FAKE_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# roles/validator/templates/run-lighthouse.sh.j2, as rendered for hoodi.
LIGHTHOUSE_VC = ["--network", "hoodi", "validator", "--datadir", "/opt/data",
                 "--beacon-nodes", "http://charon:3600", "--suggested-fee-recipient", "0x00",
                 "--metrics", "--metrics-address", "0.0.0.0", "--metrics-port", "5064",
                 "--metrics-allow-origin", "*", "--use-long-timeouts", "--distributed"]
LIGHTHOUSE_IMPORT = ["--network", "hoodi", "account", "validator", "import", "--datadir", "/opt/data",
                     "--reuse-password", "--keystore", "/k/keystore-0.json", "--password-file", "/k/keystore-0.txt"]
# roles/lighthouse/templates/compose-cl.yml.j2
LIGHTHOUSE_BN = ["bn", "--network=hoodi", "--checkpoint-sync-url=http://x", "--datadir=/opt/app/beacon/",
                 "--http", "--http-address=0.0.0.0", "--http-port=5052", "--metrics",
                 "--metrics-address=0.0.0.0", "--metrics-port=5054"]


@pytest.mark.parametrize("program, args, ports", [
    ("lighthouse", LIGHTHOUSE_VC, [5064]),
    ("lighthouse", ["--network=hoodi", "vc", "--metrics-port=5065"], [5065]),
    ("lighthouse", LIGHTHOUSE_BN, [5052, 5054]),
    ("lighthouse", ["--network", "hoodi", "beacon_node", "--http-port", "6000"], [6000, 5054]),
    ("teku", ["validator-client", "--network=hoodi", "--metrics-port=8008"], [8008]),
    ("lodestar", ["validator", "--network", "hoodi", "--metrics.port", "5064"], [5064]),
])
def test_services_serve_the_ports_their_command_line_names(fake, program, args, ports):
    assert fake.ports_for(program, args) == ports


@pytest.mark.parametrize("program, args", [
    ("lighthouse", LIGHTHOUSE_IMPORT),
    ("lighthouse", ["account", "validator", "import", "--keystore", "/k.json"]),
    ("lighthouse", ["--help"]),
    ("teku", ["--help"]),
    ("lodestar", ["--help"]),
])
def test_one_shot_commands_exit(fake, program, args):
    assert fake.ports_for(program, args) is None
