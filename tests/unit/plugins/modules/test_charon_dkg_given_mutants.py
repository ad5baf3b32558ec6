# -*- coding: utf-8 -*-
"""charon_dkg refusals found by mutation run 3 (issue 10): a given definition whose threshold the
DKG cannot use, a lock file that is a link, a definition file that vanishes while it is read."""

from __future__ import annotations

import os

from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _dkg, _files
from ansible_collections.dvops.charon.tests.unit.plugins.modules.test_charon_dkg import _node_dirs0, run0


def _enrs(capsys, dirs):
    return [run0(capsys, phase="status", data_dir=d)["enr"] for d in dirs]


def test_a_given_definition_with_threshold_1_is_refused_by_name(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    d = _cluster.new_definition("t1", _enrs(capsys, dirs), 1, "0x" + "11" * 20, "0x" + "22" * 20, threshold=1,
                                network="hoodi", dkg_algorithm=_dkg.ALGORITHM)
    res = run0(capsys, phase="definition", data_dir=dirs[0], definition=_cluster.marshal_definition(d).decode())
    assert res["failed"] and res["msg"].startswith(
        "definition: threshold 1 must be between 2 and the number of operators (3)"), res


def test_a_lock_file_that_is_a_link_is_refused_and_kept(tmp_path, capsys):
    dirs = _node_dirs0(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("{}")
    os.symlink(str(elsewhere), os.path.join(dirs[0], ".dvops-dkg.lock"))
    res = run0(capsys, phase="cleanup", data_dir=dirs[0])
    assert res["failed"] and ".dvops-dkg.lock" in res["msg"] and "Traceback" not in res["msg"], res
    assert os.path.islink(os.path.join(dirs[0], ".dvops-dkg.lock")) and elsewhere.read_text() == "{}"


def test_a_definition_file_that_vanishes_while_read_is_named(tmp_path, capsys, monkeypatch):
    dirs = _node_dirs0(tmp_path)
    path = os.path.join(dirs[0], "cluster-definition.json")
    with open(path, "w") as f:
        f.write("{}")
    real = _files.read_regular

    def vanishing(p, *args, **kwargs):
        if p == path:
            os.unlink(path)   # FAKE race: removed after the existence check
        return real(p, *args, **kwargs)

    monkeypatch.setattr(_files, "read_regular", vanishing)
    res = run0(capsys, phase="status", data_dir=dirs[0])
    assert res["failed"] and res["msg"].startswith("cannot read %s: " % path), res
