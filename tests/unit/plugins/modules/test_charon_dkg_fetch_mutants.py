# -*- coding: utf-8 -*-
"""charon_dkg's dvops_definition_url fetch (issue 10, mutation run 3): the definition JSON is taken,
an unreachable URL, a body over 16 MiB and a web page are named.  The server is a local
http.server on 127.0.0.1 serving one request per test (bounded: 10 s timeouts, closed by the test)."""

from __future__ import annotations

import http.server
import json
import socket
import threading

from ansible_collections.dvops.charon.tests.unit.plugins.modules.test_charon_dkg import _create, _node_dirs0, run0


def _serve(body, content_type="application/json"):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass   # the client stopped reading (the over-size case)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 10
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    return server, thread


def _definition_from_url(capsys, tmp_path, body, path="/v1/definition/x", **kw):
    server, thread = _serve(body, **kw)
    try:
        url = "http://127.0.0.1:%d%s" % (server.server_port, path)
        return url, run0(capsys, phase="definition", data_dir=str(tmp_path / "d"), definition_url=url)
    finally:
        thread.join(10)
        server.server_close()


def test_the_definition_at_the_url_is_taken(tmp_path, capsys):
    one = _create(capsys, _node_dirs0(tmp_path))["definition"]
    url, res = _definition_from_url(capsys, tmp_path, b"\n  " + one.encode())
    assert not res.get("failed") and res["source"] == "given", res
    assert json.loads(res["definition"]) == json.loads(one)


def test_a_web_page_without_a_config_hash_in_the_url_gets_the_placeholder(tmp_path, capsys):
    url, res = _definition_from_url(capsys, tmp_path, b"  \n<html><body>launchpad</body></html>", path="/dv",
                                    content_type="text/html")
    assert res["failed"] and res["msg"].startswith("dvops_definition_url %s returned a web page (HTML)" % url), res
    assert "https://api.obol.tech/v1/definition/0x<config hash>" in res["msg"]


def test_a_body_over_16_mib_is_refused(tmp_path, capsys):
    url, res = _definition_from_url(capsys, tmp_path, b" " * ((16 << 20) + 1))
    assert res["failed"] and res["msg"] == "definition_url: %s is larger than 16 MiB" % url, res


def test_a_body_of_exactly_16_mib_is_read_and_parsed(tmp_path, capsys):
    # Not refused as too large: it is read and then fails as a definition (whitespace is no JSON).
    url, res = _definition_from_url(capsys, tmp_path, b" " * (16 << 20))
    assert res["failed"] and "larger than 16 MiB" not in res["msg"] and res["msg"].startswith(
        "dvops_definition_url %s" % url), res


def test_an_unreachable_url_is_named(tmp_path, capsys):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()   # nothing listens there now
    url = "http://127.0.0.1:%d/definition.json" % port
    res = run0(capsys, phase="definition", data_dir=str(tmp_path / "d"), definition_url=url)
    assert res["failed"] and res["msg"].startswith("definition_url: cannot fetch %s: " % url), res
