# -*- coding: utf-8 -*-
"""Malformed values of every option type thrown at every option of every module (charon_dkg in each
phase). The options come from each module's own argument_spec (captured by running main() with
AnsibleModule replaced), so a new option is covered without touching this file.

Each case must end cleanly: the module exits with JSON (no exception escapes main(): that is what
a user sees as a Python traceback), within a time bound (no hang), without writing anything
(the files under the test's directory are those of the module's valid base run), and when the
module fails on a value its valid base run accepted, the message names the option."""

from __future__ import annotations

import json
import os
import shutil
import signal

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.dvops.charon.plugins.module_utils import _enr, _k1
from ansible_collections.dvops.charon.plugins.modules import charon_backup, charon_cluster_info, charon_dkg
from ansible_collections.dvops.charon.plugins.modules import charon_enr, charon_health, charon_owner, dv_exit
from ansible_collections.dvops.charon.tests.fixtures.cluster_factory import build_cluster, write_node_dirs

UID, GID = str(os.getuid()), str(os.getgid())
DEEP = "[" * 100000

# Malformed values per option type. Some are rejected by Ansible's own type check, the others reach
# the module's code (a string where a number is parsed, a huge or negative number, a NUL byte, text
# nested too deeply to parse...).
# (A missing absolute path under /proc: nothing can be created there, not even by root, so a module
# that creates its directory cannot write outside the test's tree.)
BAD = {
    "str": [["a", "list"], {"a": "dict"}, "", "\x00", "x" * 70000, DEEP, "99999999999999999999", "-1"],
    "path": ["", "\x00nul", "relative/dir", "/proc/dvops-nonexistent/x", "x" * 5000, ["a"]],
    "int": ["not-a-number", 2 ** 64, -(2 ** 64), -1, 1.5, [1], {"a": 1}, "99999999999999999999"],
    "bool": ["maybe", 2, [True], {"a": 1}],
    "list": [5, {"a": 1}, DEEP, [None], [[[]]], [5], [DEEP], [{"a": DEEP}]],
    "dict": [5, [1], "not a dict", {"unexpected": DEEP}, {"name": ["x"], "num_validators": "many"}],
    "raw": [None, 2 ** 64, [], {}, DEEP, -1, [DEEP]],
    "float": ["nan", "x", [1.0]],
}


class Hung(BaseException):
    pass


class _Captured(Exception):
    pass


def argument_spec(module):
    """The argument_spec main() passes to AnsibleModule (nothing else of main runs)."""
    seen = {}

    def capture(*args, **kwargs):
        seen.update(kwargs)
        raise _Captured()

    original = module.AnsibleModule
    module.AnsibleModule = capture
    try:
        with patch_module_args({}):
            module.main()
    except _Captured:
        pass
    finally:
        module.AnsibleModule = original
    return seen["argument_spec"]


def _bad_values(spec):
    kind = spec.get("type", "str")
    values = list(BAD.get(kind, BAD["raw"]))
    if kind == "list":
        element = spec.get("elements", "raw")
        values += [[v] for v in BAD.get(element, BAD["raw"])[:4]]
    if spec.get("choices"):
        values.append("not-a-choice")
    return values


def _listing(root):
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            out[p] = os.lstat(p).st_mode
    return out


def _run(module, args):
    def alarm(signum, frame):
        raise Hung("%s hung" % module.__name__)

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(30)
    try:
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module.main()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# Environments: each returns (base args of a valid run, root of what the module may touch) ----------

def _node_key(d):
    os.makedirs(d)
    with open(os.path.join(d, "charon-enr-private-key"), "wb") as f:
        f.write(_enr.format_private_key(_k1.generate_private_key()))
    os.chmod(os.path.join(d, "charon-enr-private-key"), 0o600)


@pytest.fixture(scope="module")
def cluster_dir(tmp_path_factory):
    cluster = build_cluster(seed=b"malformed", n=4, num_validators=1, network="hoodi")
    return write_node_dirs(cluster, tmp_path_factory.mktemp("cluster"), nodes=[0])[0]


def env_enr(tmp, capsys, seed):
    _node_key(str(tmp / ".charon"))
    return {"data_dir": str(tmp / ".charon"), "owner": UID, "group": GID}


def env_owner(tmp, capsys, seed):
    (tmp / "data" / "sub").mkdir(parents=True)
    return {"path": str(tmp / "data"), "owner": UID, "group": GID}


def env_backup(tmp, capsys, seed):
    (tmp / "keys").mkdir()
    (tmp / "keys" / "k.txt").write_text("FAKE key material for the malformed-input test")
    return {"paths": [str(tmp / "keys")], "password": "FAKE-test-password"}


def env_cluster_info(tmp, capsys, seed):
    shutil.copytree(seed["cluster_dir"], str(tmp / ".charon"))
    return {"path": str(tmp / ".charon"), "fail_on_error": False}


def env_dv_exit(tmp, capsys, seed):
    shutil.copytree(seed["cluster_dir"], str(tmp / ".charon"))
    # Port 9 (discard) on loopback: nothing listens, so any network step fails at once.
    return {"data_dir": str(tmp / ".charon"), "delivery": "file", "exit_dir": str(tmp / "exits"), "epoch": 1,
            "beacon_node_url": "http://127.0.0.1:9", "validator_api_url": "http://127.0.0.1:9", "timeout": 1,
            "confirm": True}


def env_health(tmp, capsys, seed):
    # Port 9 (discard) on loopback: nothing listens, the probe reports the node unreachable at once.
    return {"monitoring_url": "http://127.0.0.1:9", "timeout": 1}


def _dkg_run(args, capsys):
    _run(charon_dkg, args)
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory, cluster_dir):
    """Built once: a node data dir from a trusted-dealer FIXTURE cluster, and three node keys with a
    native definition listing them (copied into each case's own directory)."""
    tmp = tmp_path_factory.mktemp("dkg-seed")
    dirs = [str(tmp / n / ".charon") for n in ("a", "b", "c")]
    for d in dirs:
        _node_key(d)
    return {"cluster_dir": cluster_dir, "dkg_dirs": dirs}


def _dkg_env(phase):
    def env(tmp, capsys, seed):
        capsys.readouterr()
        dirs = seed["dkg_dirs"]
        if "definition" not in seed:
            enrs = [_dkg_run({"phase": "status", "data_dir": d, "owner": UID, "group": GID}, capsys)["enr"] for d in dirs]
            create = {"name": "m", "operator_enrs": enrs, "num_validators": 1, "network": "hoodi",
                      "fee_recipient_addresses": "0x" + "11" * 20, "withdrawal_addresses": "0x" + "22" * 20}
            seed["definition"] = _dkg_run({"phase": "definition", "data_dir": dirs[0], "create": create, "owner": UID,
                                           "group": GID}, capsys)["definition"]
        definition = seed["definition"]
        d = str(tmp / "a" / ".charon")
        shutil.copytree(dirs[0], d)
        base = {"phase": phase, "data_dir": d, "owner": UID, "group": GID}
        if phase in ("definition", "prepare"):
            base["definition"] = definition
        if phase not in ("status", "definition"):
            # As in the play: this run holds the data dir's lease.
            base["run_id"] = "base-run"
            res = _dkg_run({"phase": "prepare", "data_dir": d, "definition": definition, "owner": UID, "group": GID,
                            "run_id": "base-run"}, capsys)
            assert not res.get("failed"), res
        return base
    return env


ENVS = [("charon_enr", charon_enr, env_enr), ("charon_owner", charon_owner, env_owner),
        ("charon_backup", charon_backup, env_backup), ("charon_cluster_info", charon_cluster_info, env_cluster_info),
        ("dv_exit", dv_exit, env_dv_exit), ("charon_health", charon_health, env_health)]
ENVS += [("charon_dkg-" + phase, charon_dkg, _dkg_env(phase)) for phase in charon_dkg.PHASES]


def _cases():
    for name, module, env in ENVS:
        spec = argument_spec(module)
        for option in sorted(spec):
            if name.startswith("charon_dkg") and option == "phase":
                continue  # the phase is the case itself; bad phases are the "phase" cases of charon_dkg-status
            for k, value in enumerate(_bad_values(spec[option])):
                yield pytest.param(name, module, env, option, value, id="%s-%s-%d" % (name, option, k))
    spec = argument_spec(charon_dkg)
    for k, value in enumerate(_bad_values(spec["phase"])):
        yield pytest.param("charon_dkg-status", charon_dkg, _dkg_env("status"), "phase", value,
                           id="charon_dkg-phase-%d" % k)


def test_every_module_and_every_dkg_phase_is_covered():
    names = {env[0] for env in ENVS}
    assert {"charon_enr", "charon_backup", "charon_cluster_info", "dv_exit", "charon_owner"} <= names
    assert {"charon_dkg-" + p for p in charon_dkg.PHASES} <= names
    # Every module file of the collection has an environment here.
    here = os.path.dirname(os.path.abspath(charon_dkg.__file__))
    modules = {f[:-3] for f in os.listdir(here) if f.endswith(".py") and not f.startswith("_")}
    assert modules <= {n.split("-")[0] for n in names}, modules


@pytest.mark.parametrize("name,module,env,option,value", list(_cases()))
def test_malformed_value_ends_in_a_clean_named_error(tmp_path, capsys, monkeypatch, seeds, name, module, env, option,
                                                     value):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(str(work))  # a relative path lands here, inside the watched tree
    base = env(tmp_path, capsys, seeds)
    capsys.readouterr()
    _run(module, dict(base))
    base_result = json.loads(capsys.readouterr().out)
    expected = _listing(str(tmp_path))

    args = dict(base)
    args[option] = value
    _run(module, args)  # an exception other than SystemExit here is the traceback a user would see
    out = capsys.readouterr().out
    result = json.loads(out)
    assert "Traceback" not in out
    if result.get("failed"):
        assert isinstance(result.get("msg"), str) and result["msg"], result
        if not base_result.get("failed"):
            assert option in result["msg"] or option.split("_")[0] in result["msg"], (option, result["msg"][:500])
    assert _listing(str(tmp_path)) == expected, "%s wrote or removed files for %s=%r" % (name, option, value)


@pytest.mark.parametrize("option,value", [("epoch", 2 ** 64), ("epoch", -1), ("timeout", 0), ("timeout", 2 ** 64),
                                          ("timeout", -5)])
def test_dv_exit_numbers_out_of_range_are_named_before_any_network(tmp_path, capsys, seeds, option, value):
    # The beacon node URL points at a closed loopback port: a message naming the option proves the
    # value was refused before the module went near the network (or signed anything).
    base = env_dv_exit(tmp_path, capsys, seeds)
    base[option] = value
    _run(dv_exit, base)
    res = json.loads(capsys.readouterr().out)
    assert res["failed"] and res["msg"].startswith(option + ":"), res["msg"]
