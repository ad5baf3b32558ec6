# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""What the test bed builds, read from the role defaults (the one source of versions and images).

    python3 pins.py version charon        -> v1.10.3 (charon_version, via tests/fixtures/programs.py)
    python3 pins.py images                -> "<kind> <name>:<tag>" per line, every image the roles render

Plain regex reads (no YAML library): the shell scripts run before the venv exists.
"""

from __future__ import annotations

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
from programs import pinned_version  # noqa: E402  (path set just above)


def _defaults(role: str) -> list[str]:
    with open(os.path.join(REPO, "roles", role, "defaults", "main.yml"), encoding="utf-8") as handle:
        return handle.read().splitlines()


def scalar(role: str, var: str) -> str:
    for line in _defaults(role):
        match = re.match(r"^%s:\s*['\"]?([^'\"\s#]+)" % re.escape(var), line)
        if match:
            return match.group(1)
    raise SystemExit("pins: %s not found in roles/%s/defaults/main.yml" % (var, role))


def mapping(role: str, var: str) -> dict[str, str]:
    """A one-level mapping of scalars (validator_images)."""
    lines, found, out = _defaults(role), False, {}
    for line in lines:
        if re.match(r"^%s:\s*$" % re.escape(var), line):
            found = True
            continue
        if found:
            match = re.match(r"^\s+([A-Za-z0-9_-]+):\s*['\"]?([^'\"\s#]+)", line)
            if not match:
                break
            out[match.group(1)] = match.group(2)
    if not out:
        raise SystemExit("pins: mapping %s not found in roles/%s/defaults/main.yml" % (var, role))
    return out


def images() -> list[tuple[str, str]]:
    """(kind, reference) for every image the roles render; kind names the Dockerfile to build."""
    refs = [
        # Also the charon DKG engine's image: charon_dkg_charon_image is charon_image:charon_version.
        ("charon", "%s:%s" % (scalar("charon", "charon_image"), pinned_version("charon"))),
        ("geth", "%s:%s" % (scalar("geth", "geth_image"), pinned_version("geth"))),
        ("lighthouse", "%s:%s" % (scalar("lighthouse", "lighthouse_image"), scalar("lighthouse", "lighthouse_version"))),
    ]
    # The image of each validator client is that client's program (sigp/lighthouse serves bn and vc).
    refs += sorted(mapping("validator", "validator_images").items())
    refs += [
        ("prometheus", scalar("monitoring", "monitoring_prometheus_image")),
        ("grafana", scalar("monitoring", "monitoring_grafana_image")),
        ("node-exporter", scalar("monitoring", "monitoring_node_exporter_image")),
    ]
    kinds: dict[str, str] = {}
    out = []
    for kind, ref in refs:
        if kinds.setdefault(ref, kind) != kind:
            raise SystemExit("pins: %s is pinned both as %s and as %s" % (ref, kinds[ref], kind))
        if (kind, ref) not in out:
            out.append((kind, ref))
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["version"] and len(argv) == 2:
        try:
            print(pinned_version(argv[1]))
        except KeyError:
            print("pins: no role pins a version of %s" % argv[1], file=sys.stderr)
            return 2
        return 0
    if argv == ["images"]:
        for kind, ref in images():
            print(kind, ref)
        return 0
    print("usage: pins.py version NAME | pins.py images", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
