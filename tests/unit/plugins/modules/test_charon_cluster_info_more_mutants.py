# -*- coding: utf-8 -*-
"""More tests that kill charon_cluster_info's surviving refusal mutants (issue 10, full mutation run
over main after the hardening merge): a custom_network that is not a dictionary is named (a
``k=v`` string would otherwise become a dict without its keys), and a library missing for the
checks is named before the file is read."""

from __future__ import annotations

import pytest

from ansible_collections.dvops.charon.plugins.module_utils import _deps
from ansible_collections.dvops.charon.plugins.modules import charon_cluster_info
from ansible_collections.dvops.charon.tests.unit.plugins.modules.test_charon_cluster_info import run
from ansible_collections.dvops.charon.tests.unit.plugins.modules.test_charon_cluster_info_mutants import _lock_file


@pytest.mark.parametrize("value", ["name=devnet", "name=devnet chain_id=5"])
def test_custom_network_given_as_a_string_is_named(tmp_path, capsys, value):
    # ansible-core turns a "k=v" string into a dict (without the other keys, which would end in a
    # KeyError traceback); an int or a list it refuses itself, naming the option.
    path = _lock_file(tmp_path)
    res = run(capsys, path=path, custom_network=value)
    assert res["failed"] and res["msg"].startswith("custom_network: expected a dictionary with name, chain_id")
    assert res["msg"].endswith("got str")


@pytest.mark.parametrize("library", ["coincurve", "Crypto.Hash.keccak"])
def test_missing_library_is_named_before_the_file_is_read(tmp_path, capsys, monkeypatch, library):
    path = _lock_file(tmp_path)
    real = _deps.require

    def without(name):
        if name == library:
            raise _deps.MissingDependency("%s is missing (FAKE, for this test)" % library)
        return real(name)
    monkeypatch.setattr(charon_cluster_info._deps, "require", without)
    res = run(capsys, path=path)
    assert res["failed"] and res["msg"] == "%s is missing (FAKE, for this test)" % library
    assert "checks" not in res


def test_a_relative_verified_state_is_refused_and_nothing_is_written(tmp_path, capsys, monkeypatch):
    # The module writes that file: a relative path would land wherever the module happens to run.
    path = _lock_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    res = run(capsys, path=path, verified_state="state.verified")
    assert res["failed"] and res["msg"] == "verified_state: state.verified is not an absolute path"
    assert not (tmp_path / "state.verified").exists()
    # an absolute one is taken (the check passes and the lock is inspected)
    res = run(capsys, path=path, verified_state=str(tmp_path / "abs.verified"))
    assert not res.get("failed"), res.get("msg")
