# -*- coding: utf-8 -*-
"""More of charon_dkg's surviving refusal mutants (issue 10), found by ``make mutation``."""

from __future__ import annotations

import json
import os

from ansible_collections.dvops.charon.tests.unit.plugins.modules.test_charon_dkg import _create, _node_dirs, run0


def test_status_refuses_an_invalid_definition_file(tmp_path, capsys):
    dirs = _node_dirs(tmp_path)[0]
    path = os.path.join(dirs[0], "cluster-definition.json")
    with open(path, "w") as f:
        f.write('{"name": 1}')
    res = run0(capsys, phase="status", data_dir=dirs[0])
    assert res["failed"] and "exists but is not a valid definition" in res["msg"]


def test_create_refusals(tmp_path, capsys):
    dirs = _node_dirs(tmp_path)[0]
    res = _create_raw(capsys, dirs, deposit_amounts_eth=["lots"])
    assert res["failed"] and "create.deposit_amounts_eth: ['lots'] is not a list of ETH amounts" in res["msg"]
    res = _create_raw(capsys, dirs, withdrawal_addresses="0x1234")
    assert res["failed"] and res["msg"].startswith("cannot create the definition: ")


def _create_raw(capsys, dirs, **over):
    status = [run0(capsys, phase="status", data_dir=d) for d in dirs]
    create = {"name": "unit", "operator_enrs": [s["enr"] for s in status], "num_validators": 1, "network": "hoodi",
              "fee_recipient_addresses": "0x" + "11" * 20, "withdrawal_addresses": "0x" + "22" * 20}
    create.update(over)
    return run0(capsys, phase="definition", data_dir=dirs[0], create=create)


def test_the_same_definition_given_and_existing_is_accepted(tmp_path, capsys):
    dirs = _node_dirs(tmp_path)[0]
    one = _create(capsys, dirs)["definition"]
    res = run0(capsys, phase="definition", data_dir=dirs[0], existing_definitions=[one, None, one], definition=one)
    assert not res.get("failed") and res["source"] == "existing", res


def test_definition_phase_needs_no_data_dir(tmp_path, capsys):
    dirs = _node_dirs(tmp_path)[0]
    one = _create(capsys, dirs)["definition"]
    res = run0(capsys, phase="definition", data_dir=str(tmp_path / "not-here"), definition=one)
    assert not res.get("failed") and res["source"] == "given", res


def test_rounds_refuse_a_definition_file_changed_after_prepare(tmp_path, capsys):
    dirs = _node_dirs(tmp_path)[0]
    one = _create(capsys, dirs)["definition"]
    res = run0(capsys, phase="prepare", data_dir=dirs[0], definition=one)
    assert not res.get("failed"), res
    path = os.path.join(dirs[0], "cluster-definition.json")
    obj = json.loads(open(path).read())
    obj["name"] = "edited"
    os.chmod(path, 0o644)
    with open(path, "w") as f:
        json.dump(obj, f)
    res = run0(capsys, phase="round1", data_dir=dirs[0])
    assert res["failed"] and "cluster-definition.json: " in res["msg"] and "definition_hash" in res["msg"]
    assert not os.path.exists(os.path.join(dirs[0], ".dvops-dkg-state.json"))
