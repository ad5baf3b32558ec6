# -*- coding: utf-8 -*-
"""Unit tests for _beacon against a tiny fake beacon API served on 127.0.0.1 (a fake, not a node)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _beacon

PK = "0x" + "a1" * 48


class _FakeHandler(BaseHTTPRequestHandler):
    routes = {}
    seen = []

    def log_message(self, *args):  # keep pytest output quiet
        pass

    def _answer(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append((method, self.path, body))
        status, doc = self.routes.get((method, self.path), (404, {"code": 404, "message": "fake: no route"}))
        raw = b"" if doc is None else (doc if isinstance(doc, bytes) else json.dumps(doc).encode())
        self.send_response(status)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):  # noqa: N802
        self._answer("GET")

    def do_POST(self):  # noqa: N802
        self._answer("POST")


@pytest.fixture
def fake():
    _FakeHandler.routes = {}
    _FakeHandler.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1], _FakeHandler
    server.shutdown()
    server.server_close()


def test_genesis_and_validators(fake):
    url, h = fake
    h.routes[("GET", "/eth/v1/beacon/genesis")] = (200, {"data": {
        "genesis_time": "1606824023", "genesis_validators_root": "0x" + "11" * 32, "genesis_fork_version": "0x00000000"}})
    h.routes[("GET", "/eth/v1/beacon/states/head/validators?id=%s,7" % PK)] = (200, {"data": [
        {"index": "7", "balance": "32000000000", "status": "active_ongoing",
         "validator": {"pubkey": PK.upper().replace("0X", "0x"), "withdrawal_credentials": "0x" + "00" * 32}}]})
    client = _beacon.BeaconClient(url + "/", timeout=5)
    assert client.genesis()["genesis_fork_version"] == "0x00000000"
    assert client.validators([PK, 7]) == [{"index": 7, "status": "active_ongoing", "pubkey": PK}]


def test_lookup_404_means_none_and_chunks(fake, monkeypatch):
    url, h = fake
    monkeypatch.setattr(_beacon, "LOOKUP_CHUNK", 2)
    assert _beacon.BeaconClient(url).validators(["1", "2", "3"]) == []
    assert [seen[1] for seen in h.seen] == ["/eth/v1/beacon/states/head/validators?id=1,2",
                                            "/eth/v1/beacon/states/head/validators?id=3"]


def test_submit_posts_the_exit_and_reports_errors(fake):
    url, h = fake
    path = "/eth/v1/beacon/pool/voluntary_exits"
    h.routes[("POST", path)] = (200, None)
    exit_ = {"message": {"epoch": "1", "validator_index": "2"}, "signature": "0x" + "00" * 96}
    answer = _beacon.BeaconClient(url).submit_voluntary_exit(exit_)
    assert answer == {"url": url + path, "status": 200, "body": None}
    assert json.loads(h.seen[-1][2]) == exit_
    h.routes[("POST", path)] = (400, {"code": 400, "message": "Invalid voluntary exit",
                                      "failures": [{"index": 0, "message": "bad signature"}]})
    with pytest.raises(_beacon.BeaconError) as err:
        _beacon.BeaconClient(url).submit_voluntary_exit(exit_)
    assert str(err.value).startswith("POST %s%s: HTTP 400: Invalid voluntary exit" % (url, path))
    assert "bad signature" in str(err.value) and err.value.status == 400


def test_errors_name_url(fake):
    url, h = fake
    with pytest.raises(_beacon.BeaconError, match=r"GET %s/eth/v1/beacon/genesis: HTTP 404: fake: no route" % url):
        _beacon.BeaconClient(url).genesis()
    h.routes[("GET", "/eth/v1/beacon/genesis")] = (200, b"not json")
    with pytest.raises(_beacon.BeaconError, match="not JSON"):
        _beacon.BeaconClient(url).genesis()
    h.routes[("GET", "/eth/v1/beacon/genesis")] = (200, {"data": {}})
    with pytest.raises(_beacon.BeaconError, match="no genesis_validators_root"):
        _beacon.BeaconClient(url).genesis()
    with pytest.raises(_beacon.BeaconError, match=r"GET http://127.0.0.1:1/eth/v1/beacon/genesis: cannot connect"):
        _beacon.BeaconClient("http://127.0.0.1:1", timeout=2).genesis()
    with pytest.raises(_beacon.BeaconError, match="not an http"):
        _beacon.BeaconClient("localhost:5052")
