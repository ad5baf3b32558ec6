# -*- coding: utf-8 -*-
"""charon_dkg's messages for an operator who joins a cluster others created (issue 11), run in-process:
the definition decides (another network refused naming both, overridden values named), one threshold bound
(2 <= t <= operators) in every message, one host without a definition told what to do, a bad definition
named once with its path, and a launchpad web page given as the URL hinted at the JSON URL."""

from __future__ import annotations

import http.server
import json
import os
import threading

import pytest

from ansible_collections.dvops.charon.tests.unit.plugins.modules.test_charon_dkg import _ceremony, _create, _node_dirs0, run0

ADDR = "0x" + "11" * 20


def _status(capsys, dirs):
    return [run0(capsys, phase="status", data_dir=d) for d in dirs]


def _new(capsys, dirs, **over):
    create = {"name": "unit", "operator_enrs": [s["enr"] for s in _status(capsys, dirs)], "num_validators": 1,
              "fee_recipient_addresses": ADDR, "withdrawal_addresses": "0x" + "22" * 20}
    create.update(over)
    return run0(capsys, phase="definition", data_dir=dirs[0], create=create, operator_names=["a", "b", "c"][:len(dirs)])


def test_a_given_definition_of_another_network_is_refused_naming_both(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    given = _create(capsys, dirs)["definition"]         # hoodi
    res = run0(capsys, phase="definition", data_dir=dirs[0], definition=given,
               inventory={"a": {"dvops_network": "mainnet"}, "b": {"dvops_network": "mainnet"}, "c": {}})
    assert res["failed"]
    assert "dvops_network is 'mainnet' on a, b but the given definition (dvops_definition_file) is for 'hoodi'" in res["msg"]
    assert "Set dvops_network: hoodi" in res["msg"]


def test_values_the_definition_overrides_are_named_and_matching_ones_are_not(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    given = _create(capsys, dirs)["definition"]         # threshold 2 of 3, 1 validator, hoodi
    res = run0(capsys, phase="definition", data_dir=dirs[0], existing_definitions=[given, None, None],
               inventory={h: {"dvops_threshold": 3, "dvops_num_validators": "1", "dvops_network": "hoodi",
                              "dvops_fee_recipient_address": ADDR.upper().replace("X", "x"),
                              "dvops_cluster_name": "mine" if h == "c" else "unit"} for h in "abc"})
    assert not res.get("failed"), res
    rows = {r["variable"]: r for r in res["inventory_differs"]}
    assert sorted(rows) == ["dvops_cluster_name", "dvops_threshold"]
    assert rows["dvops_threshold"] == {"variable": "dvops_threshold", "inventory": 3, "definition": 2,
                                       "hosts": ["a", "b", "c"]}
    assert rows["dvops_cluster_name"]["hosts"] == ["c"]
    warning = json.dumps(res["warnings"])
    assert "the hosts' cluster-definition.json decides the cluster" in warning
    assert 'dvops_threshold 3 on a, b, c (the definition: 2)' in warning


def test_a_new_definition_is_not_compared(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    res = _new(capsys, dirs, threshold=3)
    assert not res.get("failed") and "inventory_differs" not in res, res


@pytest.mark.parametrize("threshold", [1, 7])
def test_one_threshold_bound_in_every_message(tmp_path, capsys, threshold):
    dirs = _node_dirs0(tmp_path)
    res = _new(capsys, dirs, threshold=threshold)
    assert res["failed"]
    assert "dvops_threshold %d must be between 2 and the number of operators (3)" % threshold in res["msg"], res["msg"]


def test_one_host_and_no_definition_says_how_to_join(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)[:1]
    res = _new(capsys, dirs)
    assert res["failed"]
    assert "2 <=" not in res["msg"] and "dvops_threshold" not in res["msg"], res["msg"]
    assert "only 1 operator host (a)" in res["msg"]
    assert "dvops_definition_file" in res["msg"] and "dvops_definition_url" in res["msg"]


def test_a_bad_given_definition_is_named_once_with_its_path(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    res = run0(capsys, phase="definition", data_dir=dirs[0], definition='{"name": "x"}',
               definition_source="/home/op/cluster-definition.json")
    assert res["failed"]
    assert "definition: definition" not in res["msg"]
    assert res["msg"].startswith("/home/op/cluster-definition.json"), res["msg"]


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b"<!DOCTYPE html><html><head><title>Obol Launchpad</title></head><body>join</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_launchpad_web_page_as_the_url_gets_the_json_url_hint(tmp_path, capsys):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Page)
    server.timeout = 5
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        url = "http://127.0.0.1:%d/dv#0x%s" % (server.server_port, "ab" * 32)
        res = run0(capsys, phase="definition", data_dir=_node_dirs0(tmp_path)[0], definition_url=url)
    finally:
        thread.join(10)
        server.server_close()
    assert res["failed"]
    assert "dvops_definition_url %s" % url in res["msg"], res["msg"]
    assert "a web page (HTML), not the definition JSON" in res["msg"]
    # the API URL of that config hash, as charon create dkg prints it
    assert "https://api.obol.tech/v1/definition/0x%s" % ("ab" * 32) in res["msg"], res["msg"]


def test_a_hand_edited_lock_is_repaired_from_a_peer_not_by_a_new_ceremony(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    definition = _create(capsys, dirs)["definition"]
    _ceremony(capsys, dirs, definition)
    lock = os.path.join(dirs[0], "cluster-lock.json")
    os.chmod(lock, 0o644)
    data = json.loads(open(lock).read())
    data["cluster_definition"]["name"] = "hand-edited"
    open(lock, "w").write(json.dumps(data))
    res = run0(capsys, phase="prepare", data_dir=dirs[0], definition=definition)
    assert res["failed"] and "data directory not clean" in res["msg"]
    msg = res["msg"]
    assert "to run the ceremony" not in msg and "restore the complete set from your backup" not in msg, msg
    assert "copy cluster-lock.json and deposit-data*.json from another operator's node" in msg, msg
    assert "validator_keys/ from this node's own backup" in msg, msg
    assert "a new ceremony would create other keys" in msg, msg
    assert json.loads(open(lock).read())["cluster_definition"]["name"] == "hand-edited"


@pytest.mark.parametrize("key, value, needle", [
    ("threshold", "seven", "dvops_threshold (create.threshold): expected a whole number, got str 'seven'"),
    ("num_validators", [1], "dvops_num_validators (create.num_validators): expected a whole number, got list"),
    ("compounding", "maybe", "dvops_compounding (create.compounding): expected true or false, got str 'maybe'"),
])
def test_a_wrong_value_names_the_inventory_variable(tmp_path, capsys, key, value, needle):
    res = _new(capsys, _node_dirs0(tmp_path), **{key: value})
    assert res["failed"] and needle in res["msg"], res["msg"]


def test_texts_from_the_inventory_are_taken(tmp_path, capsys):
    res = _new(capsys, _node_dirs0(tmp_path), threshold="3", compounding="false", num_validators="2")
    assert not res.get("failed"), res
    d = json.loads(res["definition"])
    assert (d["threshold"], d["num_validators"]) == (3, 2)
