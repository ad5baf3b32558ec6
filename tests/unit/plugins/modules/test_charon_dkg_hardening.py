# -*- coding: utf-8 -*-
"""charon_dkg against a hostile or careless data dir: links are never followed, unparsable content
is never echoed, a FIFO never hangs a phase, malformed inputs end in a named error with nothing
modified, and two runs on one data dir exclude each other (a lock) while a killed run's state is
discarded (and reported) by the next entry point."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.dvops.charon.plugins.module_utils import _enr, _k1
from ansible_collections.dvops.charon.plugins.modules import charon_dkg

UID, GID = os.getuid(), os.getgid()
NAMES = ["a", "b", "c"]
SECRET = "TOP-SECRET-ROOT-ONLY-LINE"


class Hung(BaseException):
    """Raised by the alarm: not an OSError, so no module handler can swallow it."""


def run(capsys, **args):
    args.setdefault("owner", str(UID))
    args.setdefault("group", str(GID))
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            charon_dkg.main()
    out = capsys.readouterr().out
    return json.loads(out), out


def _nodes(tmp_path):
    dirs = []
    for name in NAMES:
        d = tmp_path / name / ".charon"
        d.mkdir(parents=True)
        (d / "charon-enr-private-key").write_bytes(_enr.format_private_key(_k1.generate_private_key()))
        os.chmod(str(d / "charon-enr-private-key"), 0o600)
        dirs.append(str(d))
    return dirs


def _definition(capsys, dirs, **over):
    enrs = [run(capsys, phase="status", data_dir=d)[0]["enr"] for d in dirs]
    create = {"name": "h", "operator_enrs": enrs, "num_validators": 1, "network": "hoodi",
              "fee_recipient_addresses": "0x" + "11" * 20, "withdrawal_addresses": "0x" + "22" * 20}
    create.update(over)
    res = run(capsys, phase="definition", data_dir=dirs[0], create=create)[0]
    assert not res.get("failed"), res
    return res["definition"]


def _listing(path):
    out = {}
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            p = os.path.join(root, name)
            st = os.lstat(p)
            if os.path.isdir(p) and not os.path.islink(p):
                out[p] = (st.st_mode, st.st_uid)  # entries are compared one by one (a lock file come and gone
                continue                           # changes the directory's mtime, nothing else)
            out[p] = (st.st_mode, st.st_size, st.st_mtime_ns, os.readlink(p) if os.path.islink(p) else None)
    return out


# Status never follows a link and never echoes unparsable content ----------------------------------

def test_status_refuses_a_linked_definition_and_does_not_echo_it(tmp_path, capsys):
    d = _nodes(tmp_path)[0]
    outside = tmp_path / "root-only"
    outside.write_text(SECRET + "\n")
    os.chmod(str(outside), 0o600)
    os.symlink(str(outside), os.path.join(d, "cluster-definition.json"))
    res, out = run(capsys, phase="status", data_dir=d)
    assert res["failed"] and "symbolic link" in res["msg"] and "cluster-definition.json" in res["msg"]
    assert SECRET not in out


def test_status_refuses_a_link_to_a_valid_definition(tmp_path, capsys):
    dirs = _nodes(tmp_path)
    definition = _definition(capsys, dirs)
    real = tmp_path / "elsewhere.json"
    real.write_text(definition)
    os.symlink(str(real), os.path.join(dirs[0], "cluster-definition.json"))
    res, out = run(capsys, phase="status", data_dir=dirs[0])
    assert res["failed"] and "symbolic link" in res["msg"]


@pytest.mark.parametrize("content", [SECRET, "[" * 100000, "{\"name\": \"" + SECRET + "\""], ids=["text", "deep", "truncated"])
def test_status_does_not_echo_an_unparsable_definition(tmp_path, capsys, content):
    d = _nodes(tmp_path)[0]
    with open(os.path.join(d, "cluster-definition.json"), "w") as f:
        f.write(content)
    res, out = run(capsys, phase="status", data_dir=d)
    assert res["failed"] and "cluster-definition.json" in res["msg"] and "not a valid definition" in res["msg"]
    assert SECRET not in out and "[[[[" not in out
    assert res.get("definition") is None


# A FIFO never hangs a phase -----------------------------------------------------------------------

@pytest.mark.parametrize("phase", ["status", "prepare", "round1", "round2", "round3", "finish", "charon_stage",
                                   "charon_collect"])
@pytest.mark.parametrize("where", ["charon-enr-private-key", "cluster-definition.json", ".dvops-dkg-state.json"])
def test_a_fifo_never_hangs_a_phase(tmp_path, capsys, phase, where):
    dirs = _nodes(tmp_path)
    definition = _definition(capsys, dirs)
    d = dirs[0]
    assert not run(capsys, phase="prepare", data_dir=d, definition=definition)[0].get("failed")
    path = os.path.join(d, where)
    if os.path.lexists(path):
        os.unlink(path)
    os.mkfifo(path)

    def alarm(signum, frame):
        raise Hung("phase %s hung on a FIFO at %s" % (phase, where))

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(10)
    try:
        res, out = run(capsys, phase=phase, data_dir=d, definition=definition)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    # The key and the definition are read by every phase that needs them: refused. The state is only
    # read by rounds 2, 3 and finish (other phases discard a stale one, which removes the FIFO itself).
    uses = where != ".dvops-dkg-state.json" or phase in ("round2", "round3", "finish")
    if where == "cluster-definition.json" and phase == "status":
        uses = True
    if uses:
        assert res.get("failed") and where in res["msg"], res
        assert os.path.exists(path)  # left where it is


def test_charon_enr_style_refusal_of_a_linked_key(tmp_path, capsys):
    d = _nodes(tmp_path)[0]
    key = os.path.join(d, "charon-enr-private-key")
    real = tmp_path / "key-elsewhere"
    os.rename(key, str(real))
    os.symlink(str(real), key)
    res, out = run(capsys, phase="status", data_dir=d)
    assert res["failed"] and "symbolic link" in res["msg"] and "charon-enr-private-key" in res["msg"]


# Malformed inputs end in a named error, nothing modified -------------------------------------------

def test_definition_nested_too_deeply(tmp_path, capsys):
    dirs = _nodes(tmp_path)
    before = _listing(str(tmp_path))
    for phase in ("definition", "prepare"):
        res = run(capsys, phase=phase, data_dir=dirs[0], definition="[" * 100000)[0]
        assert res["failed"] and "definition" in res["msg"], res
    res = run(capsys, phase="definition", data_dir=dirs[0], existing_definitions=["[" * 100000])[0]
    assert res["failed"] and "existing" in res["msg"]
    assert _listing(str(tmp_path)) == before


@pytest.mark.parametrize("value", [5, True, {"a": 1}, [1]])
def test_existing_definitions_of_the_wrong_type(tmp_path, capsys, value):
    dirs = _nodes(tmp_path)
    res = run(capsys, phase="definition", data_dir=dirs[0], existing_definitions=[value])[0]
    assert res["failed"] and "existing_definitions[0]" in res["msg"], res


@pytest.mark.parametrize("amounts", [[-1], [0], ["x"], [1e30], [float("nan")]])
def test_bad_deposit_amounts(tmp_path, capsys, amounts):
    dirs = _nodes(tmp_path)
    with pytest.raises(AssertionError) as exc:
        _definition(capsys, dirs, deposit_amounts_eth=amounts)
    assert "deposit_amounts" in str(exc.value)


@pytest.mark.parametrize("create", [{"num_validators": "many"}, {"num_validators": -3}, {"threshold": "x"},
                                    {"operator_enrs": "enr:-x"}, {"operator_enrs": [5, None]},
                                    {"target_gas_limit": "lots"}, {"deposit_amounts": ["x"]},
                                    {"withdrawal_addresses": 5}, {"network": 7}, {"name": ["x"]}])
def test_bad_create_parameters(tmp_path, capsys, create):
    dirs = _nodes(tmp_path)
    with pytest.raises(AssertionError) as exc:
        _definition(capsys, dirs, **create)
    assert "Traceback" not in str(exc.value) and "'failed': True" in str(exc.value)


def test_dangling_link_at_the_definition_path(tmp_path, capsys):
    dirs = _nodes(tmp_path)
    definition = _definition(capsys, dirs)
    os.symlink(str(tmp_path / "nowhere"), os.path.join(dirs[0], "cluster-definition.json"))
    before = _listing(str(tmp_path))
    for phase in ("status", "prepare", "round1"):
        res = run(capsys, phase=phase, data_dir=dirs[0], definition=definition)[0]
        assert res["failed"] and "cluster-definition.json" in res["msg"], (phase, res)
    assert _listing(str(tmp_path)) == before


@pytest.mark.parametrize("phase", ["status", "prepare", "round1", "cleanup", "finish", "charon_stage"])
def test_symlinked_data_dir_is_refused(tmp_path, capsys, phase):
    dirs = _nodes(tmp_path)
    definition = _definition(capsys, dirs)
    link = str(tmp_path / "link")
    os.symlink(dirs[0], link)
    before = _listing(str(tmp_path))
    res = run(capsys, phase=phase, data_dir=link, definition=definition)[0]
    assert res["failed"] and "data_dir" in res["msg"] and "symbolic link" in res["msg"], res
    assert _listing(str(tmp_path)) == before


@pytest.mark.parametrize("phase", ["prepare", "cleanup", "finish", "charon_stage", "round1"])
def test_symlinked_temp_dir_is_refused_and_its_target_kept(tmp_path, capsys, phase):
    dirs = _nodes(tmp_path)
    definition = _definition(capsys, dirs)
    if phase != "prepare":
        assert not run(capsys, phase="prepare", data_dir=dirs[0], definition=definition)[0].get("failed")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    os.symlink(str(outside), os.path.join(dirs[0], ".dvops-dkg-tmp"))
    res = run(capsys, phase=phase, data_dir=dirs[0], definition=definition)[0]
    # (finish without a round-3 state stops at the missing state, before it reaches the temp dir)
    assert res["failed"] and (".dvops-dkg-tmp" in res["msg"] or phase == "finish"), res
    assert (outside / "keep").read_text() == "keep"


@pytest.mark.parametrize("content", ["[]", "5", "\"x\"", "{}", "{\"round\": 1}", "[" * 100000, "not json"],
                         ids=["list", "int", "str", "empty", "partial", "deep", "text"])
@pytest.mark.parametrize("phase", ["round2", "round3", "finish"])
def test_malformed_state_file(tmp_path, capsys, content, phase):
    dirs = _nodes(tmp_path)
    definition = _definition(capsys, dirs)
    assert not run(capsys, phase="prepare", data_dir=dirs[0], definition=definition)[0].get("failed")
    state = os.path.join(dirs[0], ".dvops-dkg-state.json")
    with open(state, "w") as f:
        f.write(content)
    os.chmod(state, 0o600)
    res = run(capsys, phase=phase, data_dir=dirs[0], messages=[])[0]
    assert res["failed"] and "state" in res["msg"], res


@pytest.mark.parametrize("phase", ["prepare", "round1"])
def test_unwritable_data_dir(tmp_path, capsys, monkeypatch, phase):
    dirs = _nodes(tmp_path)
    definition = _definition(capsys, dirs)
    if phase == "round1":
        assert not run(capsys, phase="prepare", data_dir=dirs[0], definition=definition)[0].get("failed")

    def denied(*a, **kw):
        raise PermissionError(13, "Permission denied")

    # root ignores directory modes: make the write itself fail as it does for a non-root user.
    monkeypatch.setattr(tempfile, "mkstemp", denied)
    before = _listing(str(tmp_path))
    res = run(capsys, phase=phase, data_dir=dirs[0], definition=definition)[0]
    assert res["failed"] and dirs[0] in res["msg"] and "Permission denied" in res["msg"], res
    assert _listing(str(tmp_path)) == before


def test_owner_out_of_range(tmp_path, capsys):
    dirs = _nodes(tmp_path)
    definition = _definition(capsys, dirs)
    res = run(capsys, phase="prepare", data_dir=dirs[0], definition=definition, owner="99999999999999999999")[0]
    assert res["failed"] and "owner" in res["msg"]
    assert not os.path.exists(os.path.join(dirs[0], "cluster-definition.json"))


# One run at a time per data dir; a killed run's state does not outlive the next entry point ---------

LOCK = ".dvops-dkg.lock"
STATE = ".dvops-dkg-state.json"


def _prepared(capsys, tmp_path, run_id="run-a"):
    dirs = _nodes(tmp_path)
    definition = _definition(capsys, dirs)
    res = run(capsys, phase="prepare", data_dir=dirs[0], definition=definition, run_id=run_id)[0]
    assert not res.get("failed"), res
    return dirs[0], definition


def test_a_second_run_is_refused_plainly_and_does_not_disturb_the_first(tmp_path, capsys):
    d, definition = _prepared(capsys, tmp_path)
    assert not run(capsys, phase="round1", data_dir=d, run_id="run-a")[0].get("failed")
    state = open(os.path.join(d, STATE)).read()
    for phase in ("prepare", "round1", "round2", "finish", "charon_stage"):
        res = run(capsys, phase=phase, data_dir=d, definition=definition, run_id="run-b")[0]
        assert res["failed"] and "another DKG run" in res["msg"] and "run-a" in res["msg"], (phase, res)
    # Run b's cleanup (its rescue/always) leaves run a's secret state alone.
    res = run(capsys, phase="cleanup", data_dir=d, run_id="run-b")[0]
    assert not res.get("failed") and not res["changed"] and res["removed"] == []
    assert open(os.path.join(d, STATE)).read() == state
    # Run a finishes (here: cleans up), which releases the lock; then run b may start.
    res = run(capsys, phase="cleanup", data_dir=d, run_id="run-a")[0]
    assert res["changed"] and not os.path.exists(os.path.join(d, STATE)) and not os.path.lexists(os.path.join(d, LOCK))
    assert not run(capsys, phase="prepare", data_dir=d, definition=definition, run_id="run-b")[0].get("failed")


def test_a_module_running_now_on_the_data_dir_is_detected(tmp_path, capsys):
    import fcntl
    d, definition = _prepared(capsys, tmp_path)
    fd = os.open(os.path.join(d, LOCK), os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a module of another run would, while it works
    try:
        start = time.time()
        res = run(capsys, phase="round1", data_dir=d, run_id="run-a")[0]
        assert res["failed"] and "in progress" in res["msg"] and time.time() - start < 5
        assert not os.path.exists(os.path.join(d, STATE))
    finally:
        os.close(fd)


def test_a_run_that_no_longer_holds_the_lock_stops(tmp_path, capsys):
    d, definition = _prepared(capsys, tmp_path)
    res = run(capsys, phase="round1", data_dir=d, run_id="run-other")[0]
    assert res["failed"] and "another DKG run" in res["msg"]
    os.unlink(os.path.join(d, LOCK))  # the lease vanished (removed by hand)
    res = run(capsys, phase="round1", data_dir=d, run_id="run-a")[0]
    assert res["failed"] and "does not hold the lock" in res["msg"]


def test_a_killed_runs_lease_expires_and_its_state_is_discarded_and_reported(tmp_path, capsys):
    d, definition = _prepared(capsys, tmp_path)
    assert not run(capsys, phase="round1", data_dir=d, run_id="run-a")[0].get("failed")
    # While the lease is fresh, an entry point's stale-state sweep (cleanup without run_id) keeps it.
    res = run(capsys, phase="cleanup", data_dir=d)[0]
    assert not res["changed"] and os.path.exists(os.path.join(d, STATE))
    # The run was killed: its lease ages past lease_seconds.
    lock = os.path.join(d, LOCK)
    holder = json.load(open(lock))
    holder["touched"] = time.time() - holder["lease_seconds"] - 1
    with open(lock, "w") as f:
        json.dump(holder, f)
    res, out = run(capsys, phase="cleanup", data_dir=d)
    assert res["changed"] and os.path.join(d, STATE) in res["removed"]
    assert res["stale_state_removed"] and res["stale_state_run_id"] == "run-a"
    assert not os.path.exists(os.path.join(d, STATE)) and not os.path.lexists(lock)


def test_a_new_run_takes_over_an_expired_lease(tmp_path, capsys):
    d, definition = _prepared(capsys, tmp_path)
    assert not run(capsys, phase="round1", data_dir=d, run_id="run-a")[0].get("failed")
    lock = os.path.join(d, LOCK)
    holder = json.load(open(lock))
    holder["touched"] = time.time() - holder["lease_seconds"] - 1
    with open(lock, "w") as f:
        json.dump(holder, f)
    res = run(capsys, phase="prepare", data_dir=d, definition=definition, run_id="run-b")[0]
    assert not res.get("failed") and res["stale_state_removed"], res
    assert json.load(open(lock))["run_id"] == "run-b"


def test_stale_state_sweep_on_a_missing_data_dir_is_a_no_op(tmp_path, capsys):
    res = run(capsys, phase="cleanup", data_dir=str(tmp_path / "not-yet"))[0]
    assert not res.get("failed") and not res["changed"]
    assert not (tmp_path / "not-yet").exists()


def test_status_reports_the_lease_and_prepare_breaks_only_the_named_one(tmp_path, capsys):
    d, definition = _prepared(capsys, tmp_path)
    res = run(capsys, phase="status", data_dir=d)[0]
    assert res["lease"]["run_id"] == "run-a" and res["lease"]["live"]
    res = run(capsys, phase="prepare", data_dir=d, definition=definition, run_id="run-b", break_lease="run-x")[0]
    assert res["failed"] and "run-a" in res["msg"]
    res = run(capsys, phase="prepare", data_dir=d, definition=definition, run_id="run-b", break_lease="run-a")[0]
    assert not res.get("failed") and res["lease_taken_over"] == "run-a"
    assert run(capsys, phase="status", data_dir=d)[0]["lease"]["run_id"] == "run-b"


# The final move never replaces what appeared in the way, and leaves all or nothing ------------------

def _up_to_round3(capsys, tmp_path):
    dirs = _nodes(tmp_path)
    definition = _definition(capsys, dirs)
    for d in dirs:
        assert not run(capsys, phase="prepare", data_dir=d, definition=definition)[0].get("failed")
    msgs = []
    for phase in ("round1", "round2", "round3"):
        new = []
        for d in dirs:
            res = run(capsys, phase=phase, data_dir=d, messages=msgs, operator_names=NAMES)[0]
            assert not res.get("failed"), res
            new.append(res["message"])
        msgs = new
    return dirs, msgs


ARTIFACT_NAMES = ("cluster-lock.json", "validator_keys", "deposit-data.json", "deposit-data-1eth.json")


@pytest.mark.parametrize("planted", ["cluster-lock.json", "deposit-data.json", "validator_keys"])
def test_finish_refuses_an_artifact_that_appeared_and_moves_nothing(tmp_path, capsys, planted):
    dirs, msgs = _up_to_round3(capsys, tmp_path)
    d = dirs[0]
    path = os.path.join(d, planted)
    if planted == "validator_keys":
        os.mkdir(path)
        with open(os.path.join(path, "keystore-0.json"), "w") as f:
            f.write("operator's own")
    else:
        with open(path, "w") as f:
            f.write("operator's own")
    res = run(capsys, phase="finish", data_dir=d, messages=msgs, operator_names=NAMES)[0]
    assert res["failed"] and planted in res["msg"] and "appeared" in res["msg"], res
    own = os.path.join(path, "keystore-0.json") if planted == "validator_keys" else path
    assert open(own).read() == "operator's own"
    assert sorted(n for n in ARTIFACT_NAMES if os.path.lexists(os.path.join(d, n))) == [planted]


def test_finish_never_replaces_a_file_that_appears_during_the_move(tmp_path, capsys, monkeypatch):
    # The lock file appears after the check, just before the lock is moved (the last move): it is
    # not replaced, and the artifacts already moved go back, so the data dir holds nothing new.
    dirs, msgs = _up_to_round3(capsys, tmp_path)
    d = dirs[0]
    lock = os.path.join(d, "cluster-lock.json")
    real_link, real_rename = os.link, os.rename

    def appear(dst):
        if dst == lock and not os.path.exists(lock):
            with open(lock, "w") as f:
                f.write("appeared")

    def racing_link(src, dst, *a, **kw):
        appear(dst)
        return real_link(src, dst, *a, **kw)

    def racing_rename(src, dst, *a, **kw):
        appear(dst)
        return real_rename(src, dst, *a, **kw)

    monkeypatch.setattr(os, "link", racing_link)
    monkeypatch.setattr(os, "rename", racing_rename)
    res = run(capsys, phase="finish", data_dir=d, messages=msgs, operator_names=NAMES)[0]
    assert res["failed"] and "cluster-lock.json" in res["msg"], res
    assert open(lock).read() == "appeared"
    assert [n for n in ARTIFACT_NAMES if os.path.lexists(os.path.join(d, n))] == ["cluster-lock.json"]
