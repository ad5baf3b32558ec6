# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""FAKE stand-in for a program that cannot be built in the test bed (lighthouse, teku, lodestar,
grafana): it is NOT the real program. It prints a FAKE banner, answers the HTTP endpoints the
node stack reaches (health, version, metrics) on the ports the role's command line names, and
stays up until stopped, so that `docker compose up` can start the whole project.

    python3 fake.py PROGRAM [the real program's arguments...]

(The images put a two-line sh wrapper where the real program lives; no shebang here, as
ansible-test's sanity rules allow only `python`, which the images do not have.)

Every HTTP answer carries ``X-Dvops-Fake: PROGRAM`` and says FAKE in its body.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BANNER = "FAKE %s %s: dvops.charon test-bed stand-in, not the real program (args: %s)"
# lighthouse's subcommands and their aliases (lighthouse --help): services, and the one-shot account
# manager whose own `validator` subcommand must not read as the validator client.
LIGHTHOUSE_COMMANDS = ("bn", "beacon_node", "beacon", "vc", "validator", "validator_client",
                       "account", "account_manager", "am", "a")


def banner(program: str, version: str, args: list[str]) -> None:
    print(BANNER % (program, version, " ".join(args)), flush=True)


def flag(args: list[str], *names: str, default: int | None = None) -> int | None:
    """The integer value of --name=V or --name V (the real programs accept both)."""
    for i, arg in enumerate(args):
        for name in names:
            if arg.startswith(name + "="):
                return int(arg.split("=", 1)[1])
            if arg == name and i + 1 < len(args):
                return int(args[i + 1])
    return default


def ports_for(program: str, args: list[str]) -> list[int] | None:
    """Ports to serve for this command line; None: a one-shot command (exit 0)."""
    words = [a for a in args if not a.startswith("-")]
    if program == "lighthouse":
        # The subcommand is the first known one: global flags may come first with their values as
        # separate words (`lighthouse --network hoodi validator ...`, the validator role's line),
        # and `account validator import` names `validator` only after `account`.
        command = next((w for w in words if w in LIGHTHOUSE_COMMANDS), None)
        if command in ("bn", "beacon_node", "beacon"):
            return [flag(args, "--http-port", default=5052), flag(args, "--metrics-port", default=5054)]
        if command in ("vc", "validator", "validator_client"):
            return [flag(args, "--metrics-port", default=5064)]
        return None  # account validator import, --help, ...
    if program == "teku":
        return [flag(args, "--metrics-port", default=8008)] if "validator-client" in words else None
    if program == "lodestar":
        return [flag(args, "--metrics.port", default=5064)] if "validator" in words else None
    if program == "grafana":
        return [int(os.environ.get("GF_SERVER_HTTP_PORT", "3000"))]
    raise SystemExit("FAKE: unknown program %s" % program)


def handler(program: str, version: str):
    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("X-Dvops-Fake", program)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            path = self.path.split("?", 1)[0]
            name = "FAKE-%s/%s" % (program, version)
            if path == "/metrics":
                text = "# FAKE %s: no real metrics\nfake_up{program=\"%s\"} 1\n" % (program, program)
                self._send(200, text.encode(), "text/plain; version=0.0.4")
            elif path == "/eth/v1/node/health":
                self._send(200, b"", "text/plain")
            elif path == "/eth/v1/node/version":
                self._send(200, json.dumps({"data": {"version": name}}).encode(), "application/json")
            elif path == "/eth/v1/node/syncing":
                data = {"head_slot": "0", "sync_distance": "0", "is_syncing": False, "is_optimistic": False,
                        "el_offline": False}
                self._send(200, json.dumps({"data": data}).encode(), "application/json")
            elif path == "/api/health":
                body = {"database": "ok", "version": name, "commit": "FAKE"}
                self._send(200, json.dumps(body).encode(), "application/json")
            else:
                self._send(200 if path == "/" else 404, ("%s\n" % name).encode(), "text/plain")

        def log_message(self, *_args) -> None:  # quiet: the banner says what this is
            return

    return Handler


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: fake.py PROGRAM [args...]", file=sys.stderr)
        return 2
    program, args = argv[0], argv[1:]
    version = os.environ.get("DVOPS_FAKE_VERSION", "unknown")
    banner(program, version, args)
    if any(a in ("--version", "-V", "version") for a in args):
        print("FAKE %s %s" % (program, version))
        return 0
    ports = ports_for(program, args)
    if ports is None:
        return 0
    # PID 1 in a container ignores SIGTERM unless it handles it: stop promptly on `docker stop`.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    servers = [ThreadingHTTPServer(("0.0.0.0", port), handler(program, version)) for port in ports]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("FAKE %s listening on %s" % (program, ", ".join(str(p) for p in ports)), flush=True)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
