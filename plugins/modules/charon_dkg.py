#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: charon_dkg
short_description: One step of a charon distributed key generation (native ceremony or charon dkg) on an operator host
version_added: 0.1.0
description:
  - Runs one O(phase) of the DKG on one operator host. The play C(playbooks/dkg.yml) runs the phases on all operator
    hosts at once and relays the messages between rounds; the controller only ever carries public data
    (commitments, proofs, shares encrypted to the recipient's ENR key, partial signatures).
  - The native ceremony (C(dkg_algorithm) V(frost)) is FROST key generation over BLS12-381 per validator, with Feldman
    commitments, Schnorr proofs of knowledge bound to the definition hash, shares encrypted with ECDH(secp256k1) +
    HKDF + AES-256-GCM to the recipient's ENR key, and every message signed by its sender's ENR key. Each host checks
    everything it receives and aborts naming the operator at fault; equivocation by the relay is detected by
    comparing transcript hashes.
  - Outputs exactly what C(charon dkg) writes, in the data dir - C(cluster-lock.json) (0444), C(deposit-data*.json)
    (0444), C(validator_keys/keystore-N.json) (0444) and C(.txt) (0400). They are built in a temporary directory
    inside the data dir and moved into place only when complete and verified.
  - Never overwrites or deletes a key, lock, deposit file or keystore. Secret state between rounds stays on the host
    (C(<data_dir>/.dvops-dkg-state.json), 0600) and is removed by O(phase=cleanup).
  - Needs C(coincurve), C(pycryptodome), C(cryptography) and C(py_arkworks_bls12381) on the host (role
    C(dvops.charon.python_deps)).
author:
  - dvops.charon contributors (@dvops)
options:
  phase:
    description:
      - V(status) reads the host's ENR, an existing definition and existing artifacts (read-only).
      - V(definition) (run once) decides the cluster definition - the existing one on the hosts, a given one
        (O(definition) text or O(definition_url)) verified before use, or a new one from O(create) like
        C(charon create dkg) - and returns it. Writes nothing.
      - V(prepare) verifies O(definition), checks this host's ENR is an operator, writes C(cluster-definition.json)
        (0444) when missing, discards stale ceremony state and checks the data dir is clean; when it holds the finished,
        verified result of this definition it returns RV(done=true).
      - V(round1), V(round2), V(round3), V(finish) are the native ceremony rounds; O(messages) are the previous
        round's messages of all operators. V(finish) writes the artifacts.
      - V(cleanup) removes ceremony state and temporary outputs (run it whatever the outcome).
      - V(charon_stage) prepares a temporary data dir for C(charon dkg) (key linked, definition copied);
        V(charon_collect) verifies what charon wrote there and moves it into place.
    type: str
    required: true
    choices: [status, definition, prepare, round1, round2, round3, finish, cleanup, charon_stage, charon_collect]
  data_dir:
    description: charon's data directory (holds C(charon-enr-private-key)).
    type: path
    required: true
  definition:
    description:
      - The cluster definition JSON text (phases V(prepare), V(definition)).
    type: str
  definition_url:
    description:
      - HTTP(S) URL of a definition (the launchpad invite link case, like C(charon dkg --definition-file <url>)),
        fetched in phase V(definition) with a 10 s timeout and a 16 MiB limit.
    type: str
  existing_definitions:
    description: Phase V(definition) - the definitions the hosts already hold (from V(status)); V(null) entries are ignored.
    type: list
    elements: raw
    default: []
  create:
    description:
      - Phase V(definition) - parameters of a new definition, as C(charon create dkg) takes them.
      - Keys C(name), C(operator_enrs) (list, operator order), C(num_validators), C(threshold) (V(null) = ceil(2n/3)),
        C(network), C(fee_recipient_addresses), C(withdrawal_addresses) (one address or one per validator),
        C(deposit_amounts) (Gwei) or C(deposit_amounts_eth) (ETH; neither = charon's defaults), C(compounding), C(target_gas_limit), C(dkg_algorithm).
    type: dict
  verify_signatures:
    description: Verify the definition's EIP-712 operator and creator signatures (hashes are always verified).
    type: bool
    default: true
  engine:
    description:
      - V(native) runs a definition whose C(dkg_algorithm) is FROST key generation (V(frost), charon's V(default),
        or V(dvops-frost-keygen-v1) written by earlier releases); V(charon) accepts what C(charon dkg) v1.10 runs
        (V(default), V(frost), V(pedersen)).
    type: str
    default: native
    choices: [native, charon]
  messages:
    description: The previous round's signed messages of every operator (rounds 2, 3 and finish). Public data.
    type: list
    elements: dict
    default: []
  operator_names:
    description: Inventory names of the operators in definition order, used only to name a culprit in errors.
    type: list
    elements: str
    default: []
  owner:
    description: Owner (name or uid) of the files written.
    type: str
    default: '1000'
  group:
    description: Group (name or gid) of the files written.
    type: str
    default: '1000'
attributes:
  check_mode:
    support: partial
    description: V(status), V(definition) and V(prepare) report what they would do; the ceremony rounds are skipped.
    details: In check mode the phases V(round1) to V(finish), V(cleanup) and the charon engine phases change nothing.
notes:
  - The native engine records C(dkg_algorithm) V(frost), the value charon uses for the same algorithm, so that
    charon's own tools (C(charon run), C(charon alpha edit add-validators)) accept the lock. Locks of earlier
    releases (V(dvops-frost-keygen-v1)) stay valid, but charon's add-validators refuses that value.
seealso:
  - module: dvops.charon.charon_cluster_info
'''

EXAMPLES = r'''
- name: Round 1 of the native ceremony on every operator host
  dvops.charon.charon_dkg:
    phase: round1
    data_dir: /opt/charon/.charon
  vars:
    ansible_python_interpreter: "{{ python_deps_python }}"
  register: dkg_round1

- name: Round 2 with everybody's round-1 messages (relayed by the controller)
  dvops.charon.charon_dkg:
    phase: round2
    data_dir: /opt/charon/.charon
    messages: "{{ ansible_play_hosts | map('extract', hostvars, ['dkg_round1', 'message']) | list }}"
  vars:
    ansible_python_interpreter: "{{ python_deps_python }}"
'''

RETURN = r'''
enr:
  description: This host's ENR (V(status)).
  returned: when phase is status
  type: str
definition:
  description: Definition JSON text (V(status) when present, V(definition)).
  returned: when phase is status or definition
  type: str
definition_hash:
  description: C(0x) hex definition hash.
  returned: when a definition is known
  type: str
index:
  description: This host's operator index (0-based position in the definition).
  returned: when phase is prepare or a round
  type: int
done:
  description: The data dir already holds the finished, verified result of this definition (V(prepare)).
  returned: when phase is prepare
  type: bool
message:
  description: This host's signed message for the next round (public, relayed by the controller).
  returned: when phase is round1, round2 or round3
  type: dict
lock_hash:
  description: C(0x) hex lock hash of the finished lock.
  returned: when phase is finish or charon_collect, or prepare with done
  type: str
artifacts:
  description: Paths of the files written (V(finish), V(charon_collect)) or found (V(status)).
  returned: when phase is finish, charon_collect or status
  type: list
  elements: str
seconds:
  description: Wall time of the phase.
  returned: always
  type: float
'''

import json
import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dvops.charon.plugins.module_utils import _deps, _dkg, _files

KEY_FILE = "charon-enr-private-key"
DEF_FILE = "cluster-definition.json"
LOCK_FILE = "cluster-lock.json"
KEYS_DIR = "validator_keys"
STATE_FILE = ".dvops-dkg-state.json"
TMP_DIR = ".dvops-dkg-tmp"
MAX_DEFINITION_BYTES = 16 << 20
PHASES = ["status", "definition", "prepare", "round1", "round2", "round3", "finish", "cleanup", "charon_stage",
          "charon_collect"]


class Fail(Exception):
    pass


def _ids(module):
    uid = _files.resolve_id(module.params["owner"], "owner")
    gid = _files.resolve_id(module.params["group"], "group")
    if uid is None or gid is None:
        raise Fail("owner/group: %s/%s do not exist on this host" % (module.params["owner"], module.params["group"]))
    return uid, gid


def _key(data_dir):
    from ansible_collections.dvops.charon.plugins.module_utils import _enr  # pylint: disable=import-outside-toplevel
    path = os.path.join(data_dir, KEY_FILE)
    if not os.path.exists(path):
        raise Fail("%s does not exist: create the node identity first (--tags enr) or restore it from your backup"
                   % path)
    try:
        return _enr.load_private_key_file(path)
    except _enr.EnrError as exc:
        raise Fail(str(exc))


def _parse_definition(text, source, verify_signatures=True, enr_hosts=None):
    from ansible_collections.dvops.charon.plugins.module_utils import _cluster  # pylint: disable=import-outside-toplevel
    try:
        d = _cluster.parse_definition(text, source)
    except ValueError as exc:
        raise Fail("%s: %s" % (source, exc))
    report = _cluster.verify_definition(d, verify_signatures=verify_signatures, check_enrs=False)
    if not report.valid:
        raise Fail("%s does not verify: %s" % (source, "; ".join(report.as_dict()["errors"])))
    _check_enrs_ready(d, source, enr_hosts or {})
    if not 2 <= d.threshold <= len(d.operators):
        raise Fail("%s: threshold %d must satisfy 2 <= threshold <= operators (%d) for a DKG"
                   % (source, d.threshold, len(d.operators)))
    return d


def _check_enrs_ready(d, source, enr_hosts):
    """Both engines, before any ceremony: every operator joined, every ENR parses, no peer twice (charon dkg would
    otherwise stop at def.Peers() or hang waiting for a peer listed twice). Names the field and, when the ENR is
    one of the play's hosts, the host."""
    from ansible_collections.dvops.charon.plugins.module_utils import _cluster  # pylint: disable=import-outside-toplevel
    issues = _cluster.operator_enr_issues(d)
    if not issues:
        return
    texts = []
    for k, text in issues:
        hosts = enr_hosts.get(d.operators[k].enr) or []
        texts.append("operators[%d].enr%s: %s" % (k, " (host%s %s)" % ("s" if len(hosts) > 1 else "", ", ".join(hosts))
                                                  if hosts else "", text))
    raise Fail("%s is not ready for the DKG: %s. Every operator must join with its own ENR (charon enr on the "
               "operator's node) before the ceremony; fix the definition (or have it re-created) and rerun"
               % (source, "; ".join(texts)))


def _enr_hosts(module):
    """ENR text -> inventory host names holding it, from the hosts' own ENRs (phase definition), for errors."""
    enrs = (module.params["create"] or {}).get("operator_enrs") or []
    hosts = {}
    for enr, host in zip(enrs, module.params["operator_names"]):
        if isinstance(enr, str) and enr:
            hosts.setdefault(enr, []).append(host)
    return hosts


def _own_index(d, private_key):
    from ansible_collections.dvops.charon.plugins.module_utils import _enr, _k1  # pylint: disable=import-outside-toplevel
    own = _k1.public_key(private_key)
    for k, op in enumerate(d.operators):
        try:
            if _enr.public_key_from_enr(op.enr) == own:
                return k
        except Exception:  # pylint: disable=broad-except
            continue
    raise Fail("this host's ENR %s is not an operator in the definition %s (uuid %s): use the definition that lists "
               "this node, or this node's own key" % (_enr.node_record(private_key), "0x" + d.definition_hash.hex(),
                                                      d.uuid))


def _artifact_names(data_dir):
    names = []
    for name in sorted(os.listdir(data_dir)):
        if name in (LOCK_FILE, KEYS_DIR) or name.startswith("deposit-data"):
            names.append(name)
    return names


def _culprit(module, exc):
    names = module.params["operator_names"]
    text = str(exc)
    if getattr(exc, "culprit", None) and names and exc.culprit <= len(names):
        text += " [operator %d = %s]" % (exc.culprit, names[exc.culprit - 1])
    return text


def _read_state(data_dir):
    path = os.path.join(data_dir, STATE_FILE)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        raise Fail("no ceremony state in %s: the previous round did not run on this host; restart the ceremony "
                   "(rerun the play)" % path)


def _write_state(data_dir, state):
    _files.write_atomic(os.path.join(data_dir, STATE_FILE), json.dumps(state).encode(), mode=0o600, overwrite=True)


def _cleanup(data_dir):
    removed = []
    state = os.path.join(data_dir, STATE_FILE)
    if os.path.lexists(state):
        os.unlink(state)
        removed.append(state)
    tmp = os.path.join(data_dir, TMP_DIR)
    if os.path.lexists(tmp):
        shutil.rmtree(tmp)
        removed.append(tmp)
    return removed


def _fetch(url):
    from ansible.module_utils.urls import open_url  # pylint: disable=import-outside-toplevel
    try:
        resp = open_url(url, timeout=10, validate_certs=True)
        data = resp.read(MAX_DEFINITION_BYTES + 1)
    except Exception as exc:  # pylint: disable=broad-except
        raise Fail("definition_url: cannot fetch %s: %s" % (url, exc))
    if len(data) > MAX_DEFINITION_BYTES:
        raise Fail("definition_url: %s is larger than 16 MiB" % url)
    return data.decode("utf-8", "replace")


def phase_status(module, data_dir, result):
    from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _enr  # pylint: disable=import-outside-toplevel
    key = _key(data_dir)
    result["enr"] = _enr.node_record(key)
    path = os.path.join(data_dir, DEF_FILE)
    result["definition"] = None
    if os.path.exists(path):
        with open(path, "rb") as f:
            result["definition"] = f.read().decode("utf-8", "replace")
        try:
            result["definition_hash"] = "0x" + _cluster.parse_definition(result["definition"], path).definition_hash.hex()
        except ValueError as exc:
            raise Fail("%s exists but is not a valid definition (%s): move it away or restore it" % (path, exc))
    result["artifacts"] = [os.path.join(data_dir, n) for n in _artifact_names(data_dir)]


def _amounts(create):
    """Gwei amounts from C(deposit_amounts) (Gwei) or C(deposit_amounts_eth) (ETH, like --deposit-amounts)."""
    if create.get("deposit_amounts"):
        return [int(a) for a in create["deposit_amounts"]]
    if create.get("deposit_amounts_eth"):
        try:
            return [int(round(float(a) * 1000000000)) for a in create["deposit_amounts_eth"]]
        except (TypeError, ValueError):
            raise Fail("dvops_deposit_amounts: %r is not a list of ETH amounts" % (create["deposit_amounts_eth"],))
    return None


def phase_definition(module, result):
    from ansible_collections.dvops.charon.plugins.module_utils import _cluster  # pylint: disable=import-outside-toplevel
    p = module.params
    existing = {}
    hosts = _enr_hosts(module)
    for i, text in enumerate(p["existing_definitions"]):
        if text:
            d = _parse_definition(text, "existing definition on %s" % (p["operator_names"][i] if i < len(p["operator_names"]) else i),
                                  p["verify_signatures"], hosts)
            existing.setdefault(d.definition_hash, (i, d))
    if len(existing) > 1:
        raise Fail("the hosts hold different cluster-definition.json files (hashes %s): keep one cluster per inventory "
                   "group and move the others away" % ", ".join("0x" + h.hex() for h in existing))
    given = None
    if p["definition"]:
        given = _parse_definition(p["definition"], "definition", p["verify_signatures"], hosts)
    elif p["definition_url"]:
        given = _parse_definition(_fetch(p["definition_url"]), p["definition_url"], p["verify_signatures"], hosts)
    if existing:
        d = list(existing.values())[0][1]
        if given is not None and given.definition_hash != d.definition_hash:
            raise Fail("the hosts already hold cluster-definition.json 0x%s, not the given definition 0x%s: move the "
                       "old one away to start a new cluster" % (d.definition_hash.hex(), given.definition_hash.hex()))
        result["source"] = "existing"
    elif given is not None:
        d, result["source"] = given, "given"
    else:
        c = p["create"] or {}
        try:
            d = _cluster.new_definition(
                c.get("name") or "", c.get("operator_enrs") or [], c.get("num_validators") or 1,
                c.get("fee_recipient_addresses"), c.get("withdrawal_addresses"), threshold=c.get("threshold"),
                network=c.get("network") or "mainnet", deposit_amounts=_amounts(c),
                compounding=bool(c.get("compounding")),
                target_gas_limit=c.get("target_gas_limit") or _cluster.DEFAULT_TARGET_GAS_LIMIT,
                dkg_algorithm=c.get("dkg_algorithm") or _dkg.ALGORITHM)
        except (ValueError, TypeError) as exc:
            raise Fail("cannot create the definition: %s" % exc)
        if not 2 <= d.threshold <= len(d.operators):
            raise Fail("dvops_threshold %d must satisfy 2 <= threshold <= operators (%d)" % (d.threshold, len(d.operators)))
        _check_enrs_ready(d, "the new definition", hosts)
        result["source"] = "created"
    result["definition"] = _cluster.marshal_definition(d).decode()
    result["definition_hash"] = "0x" + d.definition_hash.hex()


def verify_artifacts(data_dir, d, index):
    """Problems with the artifacts in ``data_dir`` as the finished result of ``d`` for operator ``index``."""
    from ansible_collections.dvops.charon.plugins.module_utils import _cluster  # pylint: disable=import-outside-toplevel
    problems = []
    lock_path = os.path.join(data_dir, LOCK_FILE)
    if not os.path.exists(lock_path):
        return None, ["%s is missing" % lock_path]
    try:
        lock = _cluster.load_file(lock_path)
    except ValueError as exc:
        return None, ["%s: %s" % (lock_path, exc)]
    if not isinstance(lock, _cluster.Lock):
        return None, ["%s is not a lock" % lock_path]
    if bytes(lock.definition.definition_hash) != bytes(d.definition_hash):
        return lock, ["%s belongs to definition 0x%s, not this cluster's 0x%s" % (
            lock_path, bytes(lock.definition.definition_hash).hex(), d.definition_hash.hex())]
    report = _cluster.verify_lock(lock)
    problems += ["%s: %s" % (lock_path, e) for e in report.as_dict()["errors"]]
    for amount in _dkg.deposit_amounts(d):
        path = os.path.join(data_dir, _dkg.deposit_file_name(amount))
        if not os.path.exists(path):
            problems.append("%s is missing" % path)
    keys = os.path.join(data_dir, KEYS_DIR)
    for v, dv in enumerate(lock.distributed_validators):
        path = os.path.join(keys, "keystore-%d.json" % v)
        try:
            with open(path) as f:
                pub = json.load(f).get("pubkey", "")
        except (OSError, ValueError) as exc:
            problems.append("%s: %s" % (path, exc))
            continue
        if bytes.fromhex(pub) != bytes(dv.public_shares[index]):
            problems.append("%s holds a key share that is not this operator's public share of validator %d" % (path, v))
        if not os.path.exists(path[:-5] + ".txt"):
            problems.append("%s has no password file" % path)
    return lock, problems


def phase_prepare(module, data_dir, result):
    from ansible_collections.dvops.charon.plugins.module_utils import _cluster  # pylint: disable=import-outside-toplevel
    p = module.params
    if not p["definition"]:
        raise Fail("definition: required for phase prepare")
    d = _parse_definition(p["definition"], "definition", p["verify_signatures"])
    if p["engine"] == "native" and d.dkg_algorithm not in _dkg.NATIVE_ALGORITHMS:
        raise Fail("the definition's dkg_algorithm is %r; the native engine runs FROST key generation (%s). Run it "
                   "with dvops_dkg_engine=charon (charon dkg)" % (d.dkg_algorithm, ", ".join(_dkg.NATIVE_ALGORITHMS)))
    if p["engine"] == "charon" and d.dkg_algorithm not in _dkg.CHARON_ALGORITHMS:
        raise Fail("the definition's dkg_algorithm is %r, which charon dkg does not run (it accepts %s and would stop "
                   "with 'unsupported dkg algorithm' after every peer connected): run it with dvops_dkg_engine=native"
                   % (d.dkg_algorithm, ", ".join(_dkg.CHARON_ALGORITHMS)))
    if p["engine"] == "native":
        try:
            _dkg.params_from_definition(d)
        except _dkg.DKGError as exc:
            raise Fail(str(exc))
    key = _key(data_dir)
    index = _own_index(d, key)
    result.update(index=index, definition_hash="0x" + d.definition_hash.hex(), done=False)
    def_path = os.path.join(data_dir, DEF_FILE)
    if os.path.exists(def_path):
        try:
            have = _cluster.load_file(def_path)
        except ValueError as exc:
            raise Fail("%s is not a valid definition (%s): move it away" % (def_path, exc))
        if bytes(getattr(have, "definition_hash", b"")) != d.definition_hash:
            raise Fail("%s holds another definition (0x%s): move it away to join cluster 0x%s"
                       % (def_path, bytes(have.definition_hash).hex(), d.definition_hash.hex()))
    elif not module.check_mode:
        uid, gid = _ids(module)
        _files.write_new(def_path, _cluster.marshal_definition(d, rehash=False), mode=0o444, owner=uid, group=gid)
        result["changed"] = True
    if not module.check_mode:
        if _cleanup(data_dir):
            result["changed"] = True
            result["stale_state_removed"] = True
    found = _artifact_names(data_dir)
    if not found:
        return
    lock, problems = verify_artifacts(data_dir, d, index)
    if problems:
        raise Fail("data directory not clean: %s holds %s that are not the verified result of definition 0x%s (%s). "
                   "They are left untouched: move them away (back them up first) to run the ceremony, or restore "
                   "the complete set from your backup." % (data_dir, ", ".join(found), d.definition_hash.hex(),
                                                           "; ".join(problems[:5])))
    result.update(done=True, lock_hash="0x" + bytes(lock.lock_hash).hex())


def _ceremony_inputs(data_dir, module):
    from ansible_collections.dvops.charon.plugins.module_utils import _cluster  # pylint: disable=import-outside-toplevel
    path = os.path.join(data_dir, DEF_FILE)
    try:
        d = _cluster.load_file(path)
    except ValueError as exc:
        raise Fail("%s: %s (run phase prepare first)" % (path, exc))
    report = _cluster.Report()
    _cluster.verify_definition_hashes(d, report)
    if not report.valid:
        raise Fail("%s: %s" % (path, "; ".join(report.as_dict()["errors"])))
    return d, _dkg.params_from_definition(d), _key(data_dir)


def phase_round(module, data_dir, result, phase):
    d, params, key = _ceremony_inputs(data_dir, module)
    msgs = module.params["messages"]
    if phase == "round1":
        _cleanup(data_dir)
        index = _own_index(d, key) + 1
        state, message = _dkg.round1(params, index, key)
    elif phase == "round2":
        state, message = _dkg.round2(params, _read_state(data_dir), msgs, key)
    else:
        state, message = _dkg.round3(params, _read_state(data_dir), msgs, key, _dkg.lock_builder(d))
    _write_state(data_dir, state)
    result.update(changed=True, message=message, index=state["index"] - 1, validators=params["num_validators"],
                  definition_hash="0x" + params["definition_hash"].hex())


def _move_into_place(tmp, data_dir, names):
    # The lock goes last: a data dir with a lock always has its deposit data and keys.
    moved = []
    for name in sorted(names, key=lambda n: n == LOCK_FILE):
        target = os.path.join(data_dir, name)
        if os.path.lexists(target):
            raise Fail("%s appeared during the ceremony; nothing was overwritten. Move it away and rerun" % target)
        os.rename(os.path.join(tmp, name), target)
        moved.append(target)
    return moved


def phase_finish(module, data_dir, result):
    from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _keystore  # pylint: disable=import-outside-toplevel
    d, params = _ceremony_inputs(data_dir, module)[:2]
    state = _read_state(data_dir)
    finished, shares = _dkg.finish(params, state, module.params["messages"])
    lock = _dkg.assemble_lock(d, finished)
    report = _cluster.verify_lock(lock)
    if not report.valid:
        raise Fail("the assembled lock does not verify: %s" % "; ".join(report.as_dict()["errors"]))
    uid, gid = _ids(module)
    tmp = os.path.join(data_dir, TMP_DIR)
    if os.path.lexists(tmp):
        shutil.rmtree(tmp)
    os.mkdir(tmp, 0o700)
    names = []
    for name, data in _dkg.deposit_files(lock, d.network().name):
        _files.write_new(os.path.join(tmp, name), data, mode=0o444, owner=uid, group=gid)
        names.append(name)
    _keystore.write_keystores(os.path.join(tmp, KEYS_DIR), shares, owner=uid, group=gid)
    names.append(KEYS_DIR)
    _files.write_new(os.path.join(tmp, LOCK_FILE), _cluster.marshal_lock(lock, rehash=False), mode=0o444,
                     owner=uid, group=gid)
    names.append(LOCK_FILE)
    result["artifacts"] = _move_into_place(tmp, data_dir, names)
    _cleanup(data_dir)
    deposit_files = [os.path.join(data_dir, n) for n in names if n.startswith("deposit-data")]
    result.update(changed=True, lock_hash="0x" + bytes(lock.lock_hash).hex(), validators=len(shares),
                  index=state["index"] - 1, deposit_files=deposit_files)


def phase_charon_stage(module, data_dir, result):
    _key(data_dir)
    uid, gid = _ids(module)
    _cleanup(data_dir)
    tmp = os.path.join(data_dir, TMP_DIR)
    os.mkdir(tmp, 0o700)
    os.chown(tmp, uid, gid)
    # A hard link, not a copy: the key never exists twice on disk, and removing the stage only drops the link.
    os.link(os.path.join(data_dir, KEY_FILE), os.path.join(tmp, KEY_FILE))
    with open(os.path.join(data_dir, DEF_FILE), "rb") as f:
        _files.write_new(os.path.join(tmp, DEF_FILE), f.read(), mode=0o444, owner=uid, group=gid)
    result.update(changed=True, stage_dir=tmp)


def phase_charon_collect(module, data_dir, result):
    from ansible_collections.dvops.charon.plugins.module_utils import _cluster  # pylint: disable=import-outside-toplevel
    d = _cluster.load_file(os.path.join(data_dir, DEF_FILE))
    index = _own_index(d, _key(data_dir))
    tmp = os.path.join(data_dir, TMP_DIR)
    lock, problems = verify_artifacts(tmp, d, index)
    if problems:
        raise Fail("charon dkg's output does not verify: %s" % "; ".join(problems[:8]))
    names = list(_artifact_names(tmp))
    result["artifacts"] = _move_into_place(tmp, data_dir, names)
    _cleanup(data_dir)
    result.update(changed=True, lock_hash="0x" + bytes(lock.lock_hash).hex(), validators=len(lock.distributed_validators),
                  index=index, deposit_files=[os.path.join(data_dir, n) for n in names if n.startswith("deposit-data")])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            phase=dict(type="str", required=True, choices=PHASES),
            data_dir=dict(type="path", required=True),
            definition=dict(type="str"),
            definition_url=dict(type="str"),
            existing_definitions=dict(type="list", elements="raw", default=[]),
            create=dict(type="dict"),
            verify_signatures=dict(type="bool", default=True),
            engine=dict(type="str", default="native", choices=["native", "charon"]),
            messages=dict(type="list", elements="dict", default=[]),
            operator_names=dict(type="list", elements="str", default=[]),
            owner=dict(type="str", default="1000"),
            group=dict(type="str", default="1000"),
        ),
        supports_check_mode=True,
    )
    phase = module.params["phase"]
    data_dir = os.path.abspath(module.params["data_dir"])
    result = dict(changed=False, phase=phase)
    start = time.time()
    missing = _deps.check_all()
    if missing:
        module.fail_json(msg=" ".join(missing), **result)
    if phase != "definition" and not os.path.isdir(data_dir):
        module.fail_json(msg="data_dir: %s is not a directory: create the node identity first (--tags enr)" % data_dir,
                         **result)
    if module.check_mode and phase not in ("status", "definition", "prepare"):
        result["msg"] = "check mode: the ceremony does not run"
        module.exit_json(**result)
    try:
        if phase == "status":
            phase_status(module, data_dir, result)
        elif phase == "definition":
            phase_definition(module, result)
        elif phase == "prepare":
            phase_prepare(module, data_dir, result)
        elif phase in ("round1", "round2", "round3"):
            phase_round(module, data_dir, result, phase)
        elif phase == "finish":
            phase_finish(module, data_dir, result)
        elif phase == "cleanup":
            result["removed"] = _cleanup(data_dir)
            result["changed"] = bool(result["removed"])
        elif phase == "charon_stage":
            phase_charon_stage(module, data_dir, result)
        else:
            phase_charon_collect(module, data_dir, result)
    except Fail as exc:
        result["seconds"] = round(time.time() - start, 3)
        module.fail_json(msg=str(exc), **result)
    except _dkg.DKGError as exc:
        result["seconds"] = round(time.time() - start, 3)
        if exc.culprit:
            result["culprit"] = exc.culprit - 1
        module.fail_json(msg="DKG aborted (%s): %s" % (phase, _culprit(module, exc)), **result)
    result["seconds"] = round(time.time() - start, 3)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
