"""The python_deps role installs exactly the pins of requirements/crypto.txt (one source of truth for tests)."""

import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_role_pins_match_requirements():
    reqs = [line.strip() for line in (ROOT / "requirements/crypto.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    defaults = yaml.safe_load((ROOT / "roles/python_deps/defaults/main.yml").read_text())
    assert defaults["python_deps_packages"] == reqs
