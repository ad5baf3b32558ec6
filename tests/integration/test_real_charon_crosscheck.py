# -*- coding: utf-8 -*-
"""Cross-checks with the REAL charon v1.10.3 binary (tests/fixtures/programs.py; no stand-in anywhere here).

- a key made by `charon create enr` is read by our charon_enr module as the same ENR, and `charon enr` on a
  key made by charon_enr prints our ENR;
- a definition made by `charon create dkg` is accepted by both engines (charon_dkg definition + prepare, native
  and charon; the native ceremony then runs on it);
- a definition made by the collection (charon_dkg phase definition) is accepted by `charon dkg`: four real
  `charon dkg` processes on loopback through a local `charon relay` complete the ceremony on it, and
  charon_cluster_info verifies the result in every data dir;
- charon_cluster_info calls a definition valid exactly when charon's own loading does: with an operator that
  has not joined (empty ENR) or a broken ENR, `charon dkg` gets past its hash and signature checks and stops at
  the ENR, and our module reports valid but not ceremony_ready.

Every charon process is bounded (timeout) and stopped by the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _enr
from ansible_collections.dvops.charon.plugins.modules import charon_cluster_info, charon_dkg, charon_enr
from ansible_collections.dvops.charon.tests.fixtures.programs import ProgramMissing, program_path

UID, GID = os.getuid(), os.getgid()
ENR_RE = re.compile(r"enr:[A-Za-z0-9_-]+")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


def charon_bin():
    try:
        return program_path("charon")
    except ProgramMissing as exc:
        pytest.skip(str(exc))


def run_module(module, capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_relay(tmp, seconds=600, host="127.0.0.1"):
    """A real `charon relay` on loopback (HTTP + libp2p TCP), killed on exit; yields its URL."""
    http, tcp = free_port(), free_port()
    data = os.path.join(str(tmp), "relay")
    os.makedirs(data, exist_ok=True)
    log = open(os.path.join(str(tmp), "relay.log"), "w")
    proc = subprocess.Popen(
        ["timeout", str(seconds), charon_bin(), "relay", "--data-dir", data, "--http-address", "%s:%d" % (host, http),
         "--p2p-tcp-address", "%s:%d" % (host, tcp), "--p2p-external-ip", host, "--p2p-relays", "",
         "--log-level", "info", "--log-color", "disable"], stdout=log, stderr=subprocess.STDOUT)
    url = "http://%s:%d" % (host, http)
    try:
        deadline = time.time() + 30
        while True:
            try:
                body = urllib.request.urlopen(url, timeout=2).read().decode()
                if "/p2p/" in body:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise AssertionError("charon relay did not come up: %s" % open(log.name).read()[-3000:])
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def charon(args, timeout=60, check=True):
    proc = subprocess.run([charon_bin()] + args, capture_output=True, text=True, timeout=timeout, check=False)
    out = ANSI_RE.sub("", proc.stdout + proc.stderr)
    if check and proc.returncode != 0:
        raise AssertionError("charon %s: rc %d\n%s" % (" ".join(args), proc.returncode, out[-4000:]))
    return proc.returncode, out


def charon_enr_of(data_dir):
    out = charon(["enr", "--data-dir", str(data_dir)])[1]
    return ENR_RE.findall(out)[0]


def charon_keys(tmp, n=4):
    """n data dirs, each with a key made by `charon create enr`."""
    dirs = []
    for i in range(n):
        d = tmp / ("node%d" % i) / ".charon"
        d.parent.mkdir(parents=True)
        charon(["create", "enr", "--data-dir", str(d)])
        dirs.append(d)
    return dirs


def charon_create_dkg(tmp, enrs, *extra):
    out_dir = tmp / "created"
    charon(["create", "dkg", "--operator-enrs", ",".join(enrs), "--network", "hoodi", "--num-validators", "1",
            "--fee-recipient-addresses", "0x000000000000000000000000000000000000dEaD",
            "--withdrawal-addresses", "0x000000000000000000000000000000000000bEEF", "--output-dir", str(out_dir)]
           + list(extra))
    return (out_dir / "cluster-definition.json").read_text()


def run_charon_dkg(dirs, relay_url, definition_path=None, timeout="90s", bound=150):
    """`charon dkg` on every data dir at once (processes on loopback); [(rc, output)], seconds."""
    start = time.time()
    procs = []
    for d in dirs:
        log = open(os.path.join(str(d), "..", "dkg.log"), "w")
        procs.append((subprocess.Popen(
            ["timeout", str(bound), charon_bin(), "dkg", "--data-dir", str(d), "--definition-file",
             str(definition_path or os.path.join(str(d), "cluster-definition.json")), "--p2p-relays", relay_url,
             "--timeout", timeout, "--log-color", "disable", "--shutdown-delay", "1s"],
            stdout=log, stderr=subprocess.STDOUT), log))
    results = []
    for proc, log in procs:
        proc.wait()
        log.close()
        results.append((proc.returncode, open(log.name).read()))
    return results, time.time() - start


# --- ENR --------------------------------------------------------------------------------------------

def test_charon_key_read_by_charon_enr(tmp_path, capsys):
    d = charon_keys(tmp_path, n=1)[0]
    expected = charon_enr_of(d)
    before = (d / "charon-enr-private-key").read_bytes()
    res = run_module(charon_enr, capsys, data_dir=str(d), owner=str(UID), group=str(GID))
    assert not res.get("failed"), res
    assert res["enr"] == expected and not res["created"]
    assert (d / "charon-enr-private-key").read_bytes() == before
    assert res["peer_id"] == _enr.peer_id_from_enr(expected)


def test_charon_enr_prints_our_enr(tmp_path, capsys):
    d = tmp_path / ".charon"
    res = run_module(charon_enr, capsys, data_dir=str(d), owner=str(UID), group=str(GID))
    assert res["created"] and res["enr"].startswith("enr:")
    assert charon_enr_of(d) == res["enr"]
    # --verbose prints the public key charon derives from our key file.
    out = charon(["enr", "--data-dir", str(d), "--verbose"])[1]
    assert res["public_key"].lower().replace("0x", "") in out.lower()


# --- definitions ---------------------------------------------------------------------------------------

def test_charon_definition_accepted_by_both_engines(tmp_path, capsys):
    dirs = charon_keys(tmp_path)
    enrs = [charon_enr_of(d) for d in dirs]
    text = charon_create_dkg(tmp_path, enrs)
    info = run_module(charon_cluster_info, capsys, path=str(tmp_path / "created" / "cluster-definition.json"))
    assert info["valid"] and info["ceremony_ready"], info
    names = ["node%d" % i for i in range(4)]
    res = run_module(charon_dkg, capsys, phase="definition", data_dir=str(dirs[0]), definition=text,
                     create={"operator_enrs": enrs}, operator_names=names)
    assert not res.get("failed"), res
    given = res["definition"]
    assert res["source"] == "given" and json.loads(given)["dkg_algorithm"] == "default"
    # The definition is written back byte for byte as charon wrote it (same hashes).
    assert res["definition_hash"] == json.loads(text)["definition_hash"]
    for engine in ("charon", "native"):
        for k, d in enumerate(dirs):
            target = tmp_path / engine / ("node%d" % k)
            target.mkdir(parents=True)
            shutil.copy(str(d / "charon-enr-private-key"), str(target))
            res = run_module(charon_dkg, capsys, phase="prepare", data_dir=str(target), definition=given,
                             engine=engine, owner=str(UID), group=str(GID))
            assert not res.get("failed") and res["index"] == k and not res["done"], res
    # The native ceremony runs on charon's definition ("default" is FROST in charon v1.10.3).
    msgs = []
    native = [tmp_path / "native" / ("node%d" % k) for k in range(4)]
    for phase in ("round1", "round2", "round3", "finish"):
        new = []
        for d in native:
            out = run_module(charon_dkg, capsys, phase=phase, data_dir=str(d), messages=msgs, owner=str(UID),
                             group=str(GID))
            assert not out.get("failed"), out
            new.append(out.get("message"))
        msgs = new
    for d in native:
        info = run_module(charon_cluster_info, capsys, path=str(d))
        assert info["valid"] and info["definition_hash"] == json.loads(text)["definition_hash"], info["errors"]


def test_collection_definition_accepted_by_charon_dkg(tmp_path, capsys):
    dirs = []
    for k in range(4):
        d = tmp_path / ("node%d" % k) / ".charon"
        run_module(charon_enr, capsys, data_dir=str(d), owner=str(UID), group=str(GID))
        dirs.append(d)
    status = [run_module(charon_dkg, capsys, phase="status", data_dir=str(d)) for d in dirs]
    # What playbooks/dkg.yml creates for the native engine (dkg_algorithm frost): charon dkg runs it too.
    created = run_module(charon_dkg, capsys, phase="definition", data_dir=str(dirs[0]), create={
        "name": "collection-made", "operator_enrs": [s["enr"] for s in status], "num_validators": 2,
        "network": "hoodi", "fee_recipient_addresses": "0x" + "de" * 20, "withdrawal_addresses": "0x" + "be" * 20,
        "deposit_amounts_eth": [16, 16]})
    assert not created.get("failed"), created
    assert json.loads(created["definition"])["dkg_algorithm"] == "frost"
    for d in dirs:
        res = run_module(charon_dkg, capsys, phase="prepare", data_dir=str(d), definition=created["definition"],
                         engine="charon", owner=str(UID), group=str(GID))
        assert not res.get("failed"), res
    with local_relay(tmp_path) as relay:
        results, seconds = run_charon_dkg(dirs, relay)
    for rc, out in results:
        assert rc == 0 and "Successfully completed DKG ceremony" in out, out[-4000:]
    with capsys.disabled():
        print("\ncharon dkg (4 processes, loopback relay, 2 validators): %.1f s" % seconds)
    hashes = set()
    for d in dirs:
        info = run_module(charon_cluster_info, capsys, path=str(d))
        assert info["valid"] and info["ceremony_ready"], info["errors"]
        assert info["definition_hash"] == created["definition_hash"] and info["keystores"] == 2
        assert sorted(info["deposit_data_files"]) == ["deposit-data-16eth.json"]
        hashes.add(info["lock_hash"])
    assert len(hashes) == 1


@pytest.mark.parametrize("broken", ["", "enr:-not-a-record"])
def test_definition_validity_matches_charon(tmp_path, capsys, broken):
    dirs = charon_keys(tmp_path)
    enrs = [charon_enr_of(d) for d in dirs]
    d = _cluster.parse_definition(charon_create_dkg(tmp_path, enrs))
    d.operators[3].enr = broken
    _cluster.fill_definition_hashes(d)
    path = tmp_path / "cluster-definition.json"
    path.write_bytes(_cluster.marshal_definition(d))
    info = run_module(charon_cluster_info, capsys, path=str(path))
    assert info["valid"] is True and info["ceremony_ready"] is False
    assert info["ceremony_problems"][0].startswith("operators[3].enr: ")
    # charon: hashes and signatures pass (no "verify cluster definition" error), the ENR stops it.
    rc, out = charon(["dkg", "--data-dir", str(dirs[0]), "--definition-file", str(path), "--p2p-relays", "",
                      "--timeout", "5s", "--log-color", "disable"], timeout=60, check=False)
    assert rc != 0
    assert "verify cluster definition" not in out and "invalid config hash" not in out, out[-3000:]
    assert "Application failed to start: decode enr" in out, out[-3000:]
    # And a hash that no longer matches is invalid for both.
    raw = json.loads(path.read_text())
    raw["name"] = "changed after hashing"
    path.write_text(json.dumps(raw))
    info = run_module(charon_cluster_info, capsys, path=str(path), fail_on_error=False)
    assert not info["valid"] and not info["checks"]["config_hash"]
    # (another data dir: charon refuses a key whose .lock file another run touched seconds ago)
    rc, out = charon(["dkg", "--data-dir", str(dirs[1]), "--definition-file", str(path), "--p2p-relays", "",
                      "--timeout", "5s", "--log-color", "disable"], timeout=60, check=False)
    assert rc != 0 and "invalid config hash" in out, out[-3000:]
