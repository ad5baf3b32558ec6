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
extends_documentation_fragment:
  - dvops.charon.data_dir
  - dvops.charon.files
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
      - V(cleanup) removes ceremony state and temporary outputs (run it whatever the outcome) and releases this run's
        lease; without O(run_id) it removes only state that no live run holds, and warns that it did. A missing
        O(data_dir) is nothing to clean.
      - V(charon_stage) prepares a temporary data dir for C(charon dkg) (key linked, definition copied);
        V(charon_collect) verifies what charon wrote there and moves it into place.
    type: str
    required: true
    choices: [status, definition, prepare, round1, round2, round3, finish, cleanup, charon_stage, charon_collect]
  definition:
    description:
      - The cluster definition JSON text (phases V(prepare), V(definition)).
    type: str
  definition_source:
    description:
      - Where O(definition) came from (the file on the controller), named in errors about it.
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
  inventory:
    description:
      - Phase V(definition) - per host, the cluster values the inventory sets (C(dvops_cluster_name), C(dvops_network),
        C(dvops_num_validators), C(dvops_threshold), C(dvops_fee_recipient_address(es)), C(dvops_withdrawal_address(es)),
        C(dvops_compounding), C(dvops_target_gas_limit), C(dvops_deposit_amounts)), as a dict - host name to a dict of variable name and value.
      - When the definition is an existing or given one, it decides; the values that differ from it are returned in
        RV(inventory_differs). A C(dvops_network) that differs is refused, naming both (the node stack would run
        another network than charon).
    type: dict
    default: {}
  operator_names:
    description: Inventory names of the operators in definition order, used only to name a culprit in errors.
    type: list
    elements: str
    default: []
  run_id:
    description:
      - Identifies one run of the play. V(prepare) takes a lease on the data dir for it (in C(<data_dir>/.dvops-dkg.lock))
        and every later phase checks it still holds it, so a second run on the same data dir is refused plainly instead of
        breaking the first one's ceremony. V(cleanup) with the same id releases it.
      - Every phase but V(status) and V(definition) also holds an exclusive C(flock) on that file while it runs.
      - Without O(run_id) no lease is taken, but a live lease of another run is still respected; V(cleanup) then only
        discards ceremony state that no live run holds (the stale state a killed run left behind) and reports it.
    type: str
  break_lease:
    description:
      - V(prepare) - the run id of a lease to take over although it has not expired, because the play found that run's
        playbook process gone (a killed run). Only that exact lease is broken.
    type: str
  lease_seconds:
    description:
      - How long a run's lease stays valid after its last phase; a killed run's lease expires after that. Must exceed the
        longest gap between two phases of one run (the play uses C(charon_dkg_round_timeout) + 300).
    type: int
    default: 1200
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
inventory_differs:
  description:
    - V(definition) with an existing or given definition - the inventory values it overrides, one entry per variable
      and value - C(variable), C(inventory) (the value), C(definition) (the definition's), C(hosts).
  returned: when phase is definition
  type: list
  elements: dict
lease:
  description: The lease another (or this) run holds on the data dir - C(run_id), C(live), C(seconds_since_last_step); V({}) when none.
  returned: when phase is status
  type: dict
removed:
  description: Paths of ceremony state and temporary outputs removed (V(cleanup)).
  returned: when phase is cleanup
  type: list
  elements: str
stale_state_removed:
  description: Ceremony state left by a run that did not finish was removed (V(prepare), V(cleanup)).
  returned: when that happened
  type: bool
stale_state_run_id:
  description: The run that left it, when its lease named it (V(cleanup)).
  returned: when stale state was removed by cleanup
  type: str
lease_taken_over:
  description: The run id of a killed run whose lease V(prepare) took over (O(break_lease)).
  returned: when that happened
  type: str
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

import errno
import json
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.dvops.charon.plugins.module_utils import _cluster, _deps, _dkg, _enr, _files, _k1, _keystore

KEY_FILE = "charon-enr-private-key"
DEF_FILE = "cluster-definition.json"
LOCK_FILE = "cluster-lock.json"
KEYS_DIR = "validator_keys"
STATE_FILE = ".dvops-dkg-state.json"
LOCK_NAME = ".dvops-dkg.lock"
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
    path = os.path.join(data_dir, KEY_FILE)
    if not os.path.lexists(path):
        raise Fail("%s does not exist: create the node identity first (--tags enr) or restore it from your backup"
                   % path)
    try:
        return _enr.load_private_key_file(path)
    except _enr.EnrError as exc:
        raise Fail(str(exc))


def _read_text(path, what):
    """Text of the regular file ``path``, never through a link and never blocking on a FIFO; None when
    nothing is there. A dangling link is something there, and refused like any link."""
    if not os.path.lexists(path):
        return None
    try:
        data = _files.read_regular(path, MAX_DEFINITION_BYTES)
    except _files.UnsafePath as exc:
        raise Fail("%s (expected the %s itself): move it away" % (exc, what))
    except OSError as exc:
        raise Fail("cannot read %s: %s" % (path, exc.strerror or exc))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Fail("%s is not UTF-8 text, so not a %s: move it away or restore it" % (path, what))


def _why(exc):
    # What is wrong, without echoing the file: the JSON path of a bad field, or the decoder's
    # reason (position only) when the text is not a JSON object at all.
    return "field %s is invalid" % exc.field if getattr(exc, "field", None) else getattr(exc, "reason", str(exc))


def _load_cluster_file(path, what, hint):
    text = _read_text(path, what)
    if text is None:
        raise Fail("%s is missing (%s)" % (path, hint))
    try:
        return _cluster.load(text, path)
    except ValueError as exc:
        raise Fail("%s is not a valid %s (%s): %s" % (path, what, _why(exc), hint))


def _parse_definition(text, source, verify_signatures=True, enr_hosts=None):
    if not isinstance(text, str):
        raise Fail("%s: expected the definition JSON text, got %s" % (source, type(text).__name__))
    try:
        d = _cluster.parse_definition(text, source)
    except ValueError as exc:
        # The parser's message starts with the source already ("<source>: field ...").
        text_exc = str(exc)
        raise Fail(text_exc if text_exc.startswith(source) else "%s: %s" % (source, text_exc))
    report = _cluster.verify_definition(d, verify_signatures=verify_signatures, check_enrs=False)
    if not report.valid:
        raise Fail("%s does not verify: %s" % (source, "; ".join(report.as_dict()["errors"])))
    _check_enrs_ready(d, source, enr_hosts or {})
    if not 2 <= d.threshold <= len(d.operators):
        raise Fail("%s: threshold %d must be between 2 and the number of operators (%d) for a DKG"
                   % (source, d.threshold, len(d.operators)))
    return d


def _check_enrs_ready(d, source, enr_hosts):
    """Both engines, before any ceremony: every operator joined, every ENR parses, no peer twice (charon dkg would
    otherwise stop at def.Peers() or hang waiting for a peer listed twice). Names the field and, when the ENR is
    one of the play's hosts, the host."""
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


# Keys each round's state must hold (written by _dkg.round1/2/3 on this host, 0600).
_ROUND2_KEYS = ("round", "definition_hash", "index", "shares", "group_keys", "public_shares", "transcript1",
                "message_hashes", "message_digest")
STATE_KEYS = {
    1: ("round", "definition_hash", "index", "self_shares", "message_digest"),
    2: _ROUND2_KEYS,
    3: _ROUND2_KEYS + ("transcript2", "lock_hash", "lock"),
}


def _read_state(data_dir):
    path = os.path.join(data_dir, STATE_FILE)
    if not os.path.lexists(path):
        raise Fail("no ceremony state in %s: the previous round did not run on this host; restart the ceremony "
                   "(rerun the play)" % path)
    try:
        state = _files.loads_json(_files.read_regular(path, MAX_DEFINITION_BYTES * 4))
    except (_files.UnsafePath, OSError, ValueError, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, _files.UnsafePath) else type(exc).__name__
        raise Fail("the ceremony state %s cannot be used (%s): restart the ceremony (rerun the play)" % (path, reason))
    rnd = state.get("round") if isinstance(state, dict) else None
    if (rnd not in STATE_KEYS or any(k not in state for k in STATE_KEYS[rnd])
            or not isinstance(state["index"], int) or isinstance(state["index"], bool)
            or not isinstance(state["definition_hash"], str) or not isinstance(state["message_digest"], str)):
        raise Fail("the ceremony state %s is damaged or from another version: restart the ceremony (rerun the play)"
                   % path)
    return state


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
        try:
            _files.remove_tree(tmp)
        except _files.UnsafePath as exc:
            raise Fail("%s (the ceremony's temporary outputs belong there)" % exc)
        removed.append(tmp)
    return removed


class _Lock(object):
    """The data dir's lock for one module run: the flock while the module runs, and the run's lease."""

    def __init__(self, module, data_dir):
        self.module = module
        self.path = os.path.join(data_dir, LOCK_NAME)
        self.run_id = module.params["run_id"]
        self.lease_seconds = module.params["lease_seconds"]
        try:
            self.fd = _files.lock_file(self.path)
        except _files.Busy:
            raise Fail("another DKG run is in progress on %s (one of its steps is running right now): wait until it "
                       "has finished and run the play again; two runs at once would break each other's ceremony"
                       % data_dir)
        except _files.UnsafePath as exc:
            raise Fail(str(exc))
        self.holder = _files.read_lease(self.fd)
        age = time.time() - _number(self.holder.get("touched"))
        valid_for = _number(self.holder.get("lease_seconds"), self.lease_seconds)
        self.live = bool(self.holder.get("run_id")) and age < valid_for
        self.broken = self.taken_over = None
        if self.live and module.params["break_lease"] and self.holder.get("run_id") == module.params["break_lease"]:
            self.live, self.broken = False, self.holder.get("run_id")
        self.foreign = self.live and self.holder.get("run_id") != self.run_id
        self.data_dir = data_dir

    def describe(self):
        h = self.holder
        return "run %s (started %s, last step %s %d s ago; its lease expires %d s after its last step)" % (
            h.get("run_id"), time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(_number(h.get("started")))),
            h.get("phase"), time.time() - _number(h.get("touched")), _number(h.get("lease_seconds"), self.lease_seconds))

    def refuse_foreign(self):
        if self.foreign:
            raise Fail("another DKG run is in progress on %s (this run_id: %s): %s. Wait for it to finish; if it was "
                       "killed, run again "
                       "once its lease has expired, or remove %s after making sure no run uses this data dir"
                       % (self.data_dir, self.run_id, self.describe(), self.path))

    def take(self, phase):
        """prepare: (re)take the lease for this run."""
        self.refuse_foreign()
        if self.broken:
            self.taken_over = self.broken
            self.module.warn("took over the lock on %s from run %s, whose playbook process no longer runs (a killed run)"
                             % (self.data_dir, self.broken))
        if self.run_id and not self.module.check_mode:
            same = self.holder.get("run_id") == self.run_id
            now = time.time()
            _files.write_lease(self.fd, {"run_id": self.run_id, "started": self.holder.get("started") if same else now,
                                         "touched": now, "phase": phase, "lease_seconds": self.lease_seconds})
            self.holder = _files.read_lease(self.fd)

    def check(self, phase):
        """A ceremony phase: this run must hold the lease (when it has an id); refresh it."""
        self.refuse_foreign()
        if self.run_id:
            if self.holder.get("run_id") != self.run_id:
                raise Fail("this run (%s) does not hold the lock on %s (%s): run the play again from the start"
                           % (self.run_id, self.data_dir, "held by run %s" % self.holder.get("run_id")
                              if self.holder.get("run_id") else "released or removed"))
            self.take(phase)

    def close(self, remove=False):
        # Remove the file while holding the flock when no lease remains in it (inode check in lock_file).
        if remove or not self.holder.get("run_id"):
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        os.close(self.fd)


def lease_status(data_dir):
    """The lease in the data dir (public: run id and whether it is live), read without locking; {} when none."""
    path = os.path.join(data_dir, LOCK_NAME)
    try:
        holder = _files.loads_json(_files.read_regular(path, 1 << 16))
    except (OSError, ValueError, RecursionError, _files.UnsafePath):
        return {}
    if not isinstance(holder, dict) or not isinstance(holder.get("run_id"), str):
        return {}
    age = time.time() - _number(holder.get("touched"))
    return {"run_id": holder["run_id"], "live": age < _number(holder.get("lease_seconds"), 0),
            "seconds_since_last_step": int(age)}


def _number(value, default=0):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def phase_cleanup(module, data_dir, lock, result):
    if lock.foreign:
        # Another run's secret state: never removed while its lease is live.
        result.update(removed=[], msg="left the ceremony state of the live %s alone" % lock.describe())
        return
    result["removed"] = _cleanup(data_dir)
    result["changed"] = bool(result["removed"])
    if result["removed"] and not (lock.run_id and lock.holder.get("run_id") == lock.run_id):
        result["stale_state_removed"] = True
        result["stale_state_run_id"] = lock.holder.get("run_id")
        module.warn("removed stale DKG ceremony state on this host (%s), left by %s that did not finish; nothing else "
                    "was touched" % (", ".join(result["removed"]),
                                     "run %s" % lock.holder["run_id"] if lock.holder.get("run_id") else "a run"))
    if lock.holder.get("run_id") and (lock.holder.get("run_id") == lock.run_id or not lock.live):
        lock.holder = {}  # released: close() removes the file


def _fetch(url):
    try:
        resp = open_url(url, timeout=10, validate_certs=True)
        data = resp.read(MAX_DEFINITION_BYTES + 1)
    except Exception as exc:  # pylint: disable=broad-except
        raise Fail("definition_url: cannot fetch %s: %s" % (url, exc))
    if len(data) > MAX_DEFINITION_BYTES:
        raise Fail("definition_url: %s is larger than 16 MiB" % url)
    if data.lstrip()[:1] == b"<":
        # The launchpad's invite link (https://launchpad.obol.org/dv#0x<config hash>) is a web page; the
        # definition is at the API, as `charon create dkg` prints it.
        found = re.search(r"0x[0-9a-fA-F]{64}", url)
        raise Fail("dvops_definition_url %s returned a web page (HTML), not the definition JSON: give the definition's "
                   "JSON URL, https://api.obol.tech/v1/definition/%s (the launchpad link dv#0x... names the config "
                   "hash), or download the JSON and set dvops_definition_file"
                   % (url, found.group(0) if found else "0x<config hash>"))
    return data.decode("utf-8", "replace")


def phase_status(module, data_dir, result):
    key = _key(data_dir)
    result["enr"] = _enr.node_record(key)
    path = os.path.join(data_dir, DEF_FILE)
    result["definition"] = None
    text = _read_text(path, "definition")
    if text is not None:
        # The text is returned only once it parses: a file that does not is never echoed.
        try:
            d = _cluster.parse_definition(text, path)
        except ValueError as exc:
            raise Fail("%s exists but is not a valid definition (%s): move it away or restore it" % (path, _why(exc)))
        result.update(definition=text, definition_hash="0x" + d.definition_hash.hex())
    result["artifacts"] = [os.path.join(data_dir, n) for n in _artifact_names(data_dir)]
    result["lease"] = lease_status(data_dir)


def _amounts(create):
    """Gwei amounts from C(deposit_amounts) (Gwei) or C(deposit_amounts_eth) (ETH, like --deposit-amounts)."""
    for key, scale in (("deposit_amounts", 1), ("deposit_amounts_eth", 1000000000)):
        values = create.get(key)
        if not values:
            continue
        try:
            if not isinstance(values, list):
                raise TypeError(values)
            amounts = [int(round(float(a) * scale)) if scale != 1 else int(a) for a in values]
        except (TypeError, ValueError, OverflowError):
            raise Fail("create.%s: %r is not a list of %s amounts (dvops_deposit_amounts: whole ETH, e.g. [32])"
                       % (key, values, "ETH" if scale != 1 else "Gwei"))
        if any(a <= 0 or a >= 1 << 64 for a in amounts):
            raise Fail("create.%s: %r: every amount must be positive (and below 2^64 Gwei) (dvops_deposit_amounts)"
                       % (key, values))
        return amounts
    return None


CREATE_TYPES = {"name": (str,), "operator_enrs": (list,), "num_validators": (int,), "threshold": (int,),
                "network": (str,), "fee_recipient_addresses": (str, list), "withdrawal_addresses": (str, list),
                "compounding": (bool,), "target_gas_limit": (int,), "dkg_algorithm": (str,)}


# The inventory variable each C(create) key comes from (roles/charon/defaults), named in errors.
CREATE_VARS = {"name": "dvops_cluster_name", "operator_enrs": "the hosts' ENRs", "num_validators": "dvops_num_validators",
               "threshold": "dvops_threshold", "network": "dvops_network",
               "fee_recipient_addresses": "dvops_fee_recipient_address(es)",
               "withdrawal_addresses": "dvops_withdrawal_address(es)", "compounding": "dvops_compounding",
               "target_gas_limit": "dvops_target_gas_limit", "dkg_algorithm": "dvops_dkg_engine"}


def _check_create(c):
    """Types of the C(create) keys, so a wrong one is named (as the inventory variable) instead of crashing deep
    inside."""
    for key, types in CREATE_TYPES.items():
        value = c.get(key)
        if value is None:
            continue
        if isinstance(value, str) and int in types and re.match(r"\A\s*\d+\s*\Z", value):
            c[key] = value = int(value)  # a Jinja-templated number arrives as text
        if isinstance(value, str) and bool in types and value.strip().lower() in ("true", "false", "yes", "no"):
            c[key] = value = value.strip().lower() in ("true", "yes")
        where = "%s (create.%s)" % (CREATE_VARS.get(key, key), key)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            wanted = " or ".join({"int": "a whole number", "str": "a text", "list": "a list", "bool": "true or false"}
                                 .get(t.__name__, t.__name__) for t in types)
            raise Fail("%s: expected %s, got %s %r" % (where, wanted, type(value).__name__, value))
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise Fail("%s: every entry must be a string" % where)
        if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value < 1 << 64:
            raise Fail("%s: %d is out of range" % (where, value))


def _address_list(value):
    return [value.lower()] if isinstance(value, str) else [str(v).lower() for v in value or []]


def _definition_values(d):
    """The definition's value of each inventory variable that would describe a new one, as comparable text."""
    try:
        network = d.network().name
    except Exception:  # pylint: disable=broad-except
        network = "fork_version 0x%s" % bytes(d.fork_version or b"").hex()
    fees = [v.fee_recipient_address.lower() for v in d.validators]
    withdrawals = [v.withdrawal_address.lower() for v in d.validators]
    return {
        "dvops_cluster_name": (d.name, str),
        "dvops_network": (network, lambda v: str(v).lower()),
        "dvops_num_validators": (d.num_validators, int),
        "dvops_threshold": (d.threshold, int),
        "dvops_fee_recipient_address": (fees, lambda v: _address_list(v) * len(fees)),
        "dvops_fee_recipient_addresses": (fees, lambda v: _address_list(v) * (len(fees) if isinstance(v, str) else 1)),
        "dvops_withdrawal_address": (withdrawals, lambda v: _address_list(v) * len(withdrawals)),
        "dvops_withdrawal_addresses": (withdrawals, lambda v: _address_list(v) * (len(withdrawals) if isinstance(v, str)
                                                                                  else 1)),
        "dvops_compounding": (bool(d.compounding), lambda v: v if isinstance(v, bool) else str(v).lower() in
                              ("true", "yes", "1", "on")),
        "dvops_target_gas_limit": (d.target_gas_limit or None, int),
        "dvops_deposit_amounts": ([a // 1000000000 for a in d.deposit_amounts] if d.deposit_amounts else None,
                                  lambda v: [int(float(a)) for a in v]),
    }


def inventory_differs(d, inventory):
    """Texts naming each inventory value (per host) that the decided definition overrides."""
    values = _definition_values(d)
    differs = {}
    for host in sorted(inventory or {}):
        hvars = inventory[host] if isinstance(inventory[host], dict) else {}
        for var in sorted(hvars):
            if var not in values or hvars[var] is None or hvars[var] == "":
                continue
            have, norm = values[var]
            if have is None:
                continue
            try:
                mine = norm(hvars[var])
            except (TypeError, ValueError, OverflowError):
                mine = hvars[var]
            if mine != have:
                shown = have if not isinstance(have, list) or len(set(have)) != 1 else have[0]
                key = (var, json.dumps(hvars[var], sort_keys=True, default=str), json.dumps(shown, default=str))
                differs.setdefault(key, []).append(host)
    return [{"variable": var, "inventory": json.loads(inv), "definition": json.loads(dfn), "hosts": hosts}
            for (var, inv, dfn), hosts in sorted(differs.items())]


def _definition_decides(module, d, result):
    """An existing or given definition decides the cluster: refuse another network, say which values it overrides."""
    differs = inventory_differs(d, module.params["inventory"])
    result["inventory_differs"] = differs
    where = ("the hosts' cluster-definition.json" if result["source"] == "existing" else
             "the given definition (%s)" % ("dvops_definition_url " + module.params["definition_url"]
                                            if module.params["definition_url"] and not module.params["definition"]
                                            else "dvops_definition_file" + (" " + module.params["definition_source"]
                                                                            if module.params["definition_source"] else "")))
    for row in differs:
        if row["variable"] == "dvops_network":
            raise Fail("dvops_network is %r on %s but %s is for %r (uuid %s): the definition decides the network, and "
                       "geth, lighthouse and the validator client must run the same one as charon. Set dvops_network: %s "
                       "in the inventory (or remove it)"
                       % (row["inventory"], ", ".join(row["hosts"]), where, row["definition"], d.uuid, row["definition"]))
    if differs:
        module.warn("%s decides the cluster, so these inventory values are not used: %s. Remove them from the "
                    "inventory or make them match" % (where, "; ".join(
                        "%s %s on %s (the definition: %s)" % (r["variable"], json.dumps(r["inventory"]),
                                                              ", ".join(r["hosts"]), json.dumps(r["definition"]))
                        for r in differs)))


def phase_definition(module, result):
    p = module.params
    existing = {}
    hosts = _enr_hosts(module)
    for i, text in enumerate(p["existing_definitions"]):
        if text is None or text == "":
            continue
        where = "existing_definitions[%d]%s" % (i, " (%s)" % p["operator_names"][i] if i < len(p["operator_names"]) else "")
        if not isinstance(text, str):
            raise Fail("%s: expected the definition JSON text or null, got %s" % (where, type(text).__name__))
        d = _parse_definition(text, where, p["verify_signatures"], hosts)
        existing.setdefault(d.definition_hash, (i, d))
    if len(existing) > 1:
        raise Fail("the hosts hold different cluster-definition.json files (hashes %s): keep one cluster per inventory "
                   "group and move the others away" % ", ".join("0x" + h.hex() for h in existing))
    given = None
    if p["definition"]:
        given = _parse_definition(p["definition"], p["definition_source"] or "definition", p["verify_signatures"], hosts)
    elif p["definition_url"]:
        given = _parse_definition(_fetch(p["definition_url"]), "dvops_definition_url " + p["definition_url"],
                                  p["verify_signatures"], hosts)
    if existing:
        d = list(existing.values())[0][1]
        if given is not None and given.definition_hash != d.definition_hash:
            raise Fail("the hosts already hold cluster-definition.json 0x%s, not the given definition 0x%s: move the "
                       "old one away to start a new cluster" % (d.definition_hash.hex(), given.definition_hash.hex()))
        result["source"] = "existing"
    elif given is not None:
        d, result["source"] = given, "given"
    if existing or given is not None:
        _definition_decides(module, d, result)
    else:
        c = dict(p["create"] or {})
        _check_create(c)
        enrs = c.get("operator_enrs") or []
        if len(enrs) < 2:
            # Not a threshold problem: one host cannot make a cluster, and joining one needs its definition.
            raise Fail("no cluster definition was given and the play has only %d operator host%s (%s), so a new one "
                       "cannot be created (a cluster needs at least 2 operators). To join a cluster someone else created, "
                       "set dvops_definition_file (the cluster-definition.json you received) or dvops_definition_url (its "
                       "JSON URL, https://api.obol.tech/v1/definition/0x<config hash>); to create one, put every "
                       "operator's host in the play" % (len(enrs), "" if len(enrs) == 1 else "s",
                                                        ", ".join(p["operator_names"]) or "none"))
        threshold = c.get("threshold")
        if threshold is not None and not 2 <= threshold <= len(enrs):
            raise Fail("dvops_threshold %d must be between 2 and the number of operators (%d)" % (threshold, len(enrs)))
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
            raise Fail("dvops_threshold %d must be between 2 and the number of operators (%d)"
                       % (d.threshold, len(d.operators)))
        _check_enrs_ready(d, "the new definition", hosts)
        result["source"] = "created"
    result["definition"] = _cluster.marshal_definition(d).decode()
    result["definition_hash"] = "0x" + d.definition_hash.hex()


def verify_artifacts(data_dir, d, index):
    """Problems with the artifacts in ``data_dir`` as the finished result of ``d`` for operator ``index``."""
    problems = []
    lock_path = os.path.join(data_dir, LOCK_FILE)
    if not os.path.lexists(lock_path):
        return None, ["%s is missing" % lock_path]
    try:
        lock = _load_cluster_file(lock_path, "lock", "move it away")
    except Fail as exc:
        return None, [str(exc)]
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
            pub = _files.loads_json(_files.read_regular(path, MAX_DEFINITION_BYTES)).get("pubkey", "")
            pub = bytes.fromhex(pub[2:] if pub.startswith("0x") else pub)
        except (_files.UnsafePath, OSError, ValueError, RecursionError, AttributeError, TypeError) as exc:
            problems.append("%s: not a readable keystore (%s)" % (path, type(exc).__name__ if not isinstance(
                exc, (_files.UnsafePath, OSError)) else exc))
            continue
        if pub != bytes(dv.public_shares[index]):
            problems.append("%s holds a key share that is not this operator's public share of validator %d" % (path, v))
        if not os.path.exists(path[:-5] + ".txt"):
            problems.append("%s has no password file" % path)
    return lock, problems


def phase_prepare(module, data_dir, result):
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
    if os.path.lexists(def_path):
        have = _load_cluster_file(def_path, "definition", "move it away")
        if bytes(getattr(have, "definition_hash", b"")) != d.definition_hash:
            raise Fail("%s holds another definition (0x%s): move it away to join cluster 0x%s"
                       % (def_path, bytes(have.definition_hash).hex(), d.definition_hash.hex()))
    elif not module.check_mode:
        uid, gid = _ids(module)
        _files.write_new(def_path, _cluster.marshal_definition(d, rehash=False), mode=0o444, owner=uid, group=gid)
        result["changed"] = True
    if not module.check_mode:
        removed = _cleanup(data_dir)
        if removed:
            result["changed"] = True
            result["stale_state_removed"] = True
            module.warn("removed stale DKG ceremony state left by a run that did not finish: %s" % ", ".join(removed))
    found = _artifact_names(data_dir)
    if not found:
        return
    lock, problems = verify_artifacts(data_dir, d, index)
    if problems:
        # No backup holds the lock (it is the same on every node), and a new ceremony over a cluster that already
        # has its keys would make other keys: the advice is to repair, and a new ceremony only when none completed.
        raise Fail("data directory not clean: %s holds %s that are not the verified result of definition 0x%s (%s). "
                   "They are left untouched. If this cluster's DKG completed, repair this node instead - a new ceremony "
                   "would create other keys: copy cluster-lock.json and deposit-data*.json from another operator's node "
                   "(they are the same on every node) and restore validator_keys/ from this node's own backup "
                   "(validator_keys.vault). Only if no ceremony of this definition ever completed, move them away "
                   "(keep a copy) and run the DKG again." % (data_dir, ", ".join(found), d.definition_hash.hex(),
                                                             "; ".join(problems[:5])))
    result.update(done=True, lock_hash="0x" + bytes(lock.lock_hash).hex())


def _ceremony_inputs(data_dir, module):
    path = os.path.join(data_dir, DEF_FILE)
    d = _load_cluster_file(path, "definition", "run phase prepare first")
    if not isinstance(d, _cluster.Definition):
        raise Fail("%s is not a definition: move it away and run phase prepare first" % path)
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


def _move_file(src, target):
    """Move without ever replacing: a hard link fails with EEXIST when ``target`` exists."""
    try:
        os.link(src, target, follow_symlinks=False)
    except OSError as exc:
        # EPERM: fs.protected_hardlinks and a file of another user (charon's, when not root);
        # then a rename right after a fresh check is the best the system offers.
        if exc.errno not in (errno.EPERM, errno.EXDEV) or os.path.lexists(target):
            raise
        os.rename(src, target)
        return
    os.unlink(src)


def _move_into_place(tmp, data_dir, names):
    """Move the finished artifacts from ``tmp`` into ``data_dir``: all or nothing, never replacing.

    Everything in the way is refused before anything moves. Files are moved by hard link + unlink
    (the link fails with EEXIST where os.rename would silently replace a file that appeared since);
    a directory is renamed (rename never replaces a non-empty directory). When a move fails anyway,
    the ones already made are moved back, so the data dir holds all the artifacts or none.
    The lock goes last: a data dir with a lock always has its deposit data and keys."""
    ordered = sorted(names, key=lambda n: n == LOCK_FILE)
    in_way = [os.path.join(data_dir, n) for n in ordered if os.path.lexists(os.path.join(data_dir, n))]
    if in_way:
        raise Fail("%s appeared during the ceremony; nothing was moved or overwritten. Move it away and rerun"
                   % ", ".join(in_way))
    moved = []
    try:
        for name in ordered:
            src, target = os.path.join(tmp, name), os.path.join(data_dir, name)
            if os.path.isdir(src) and not os.path.islink(src):
                os.rename(src, target)
            else:
                _move_file(src, target)
            moved.append(name)
    except OSError as exc:
        failed = os.path.join(data_dir, name)
        for back in reversed(moved):
            placed, origin = os.path.join(data_dir, back), os.path.join(tmp, back)
            if os.path.isdir(placed) and not os.path.islink(placed):
                os.rename(placed, origin)
            else:
                _move_file(placed, origin)
        raise Fail("%s could not be moved into place (%s: it appeared during the ceremony?); nothing was overwritten "
                   "and nothing was left in %s. Move it away and rerun"
                   % (failed, exc.strerror or exc, data_dir))
    return [os.path.join(data_dir, n) for n in moved]


def phase_finish(module, data_dir, result):
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
        try:
            _files.remove_tree(tmp)
        except _files.UnsafePath as exc:
            raise Fail("%s (the ceremony's temporary outputs belong there)" % exc)
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
    definition = _read_text(os.path.join(data_dir, DEF_FILE), "definition")
    if definition is None:
        raise Fail("%s is missing (run phase prepare first)" % os.path.join(data_dir, DEF_FILE))
    _cleanup(data_dir)
    tmp = os.path.join(data_dir, TMP_DIR)
    os.mkdir(tmp, 0o700)
    os.chown(tmp, uid, gid)
    # A hard link, not a copy: the key never exists twice on disk, and removing the stage only drops the link.
    # (_key refused a link or FIFO at the key path; os.link does not follow a link that appeared since.)
    os.link(os.path.join(data_dir, KEY_FILE), os.path.join(tmp, KEY_FILE), follow_symlinks=False)
    _files.write_new(os.path.join(tmp, DEF_FILE), definition.encode("utf-8"), mode=0o444, owner=uid, group=gid)
    result.update(changed=True, stage_dir=tmp)


def phase_charon_collect(module, data_dir, result):
    d = _load_cluster_file(os.path.join(data_dir, DEF_FILE), "definition", "run phase prepare first")
    index = _own_index(d, _key(data_dir))
    tmp = os.path.join(data_dir, TMP_DIR)
    try:
        _files.check_real_dir(tmp, "charon dkg's output")
    except _files.UnsafePath as exc:
        raise Fail(str(exc))
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
            definition_source=dict(type="str"),
            definition_url=dict(type="str"),
            existing_definitions=dict(type="list", elements="raw", default=[]),
            create=dict(type="dict"),
            verify_signatures=dict(type="bool", default=True),
            engine=dict(type="str", default="native", choices=["native", "charon"]),
            messages=dict(type="list", elements="dict", default=[]),
            operator_names=dict(type="list", elements="str", default=[]),
            inventory=dict(type="dict", default={}),
            run_id=dict(type="str"),
            break_lease=dict(type="str"),
            lease_seconds=dict(type="int", default=1200),
            owner=dict(type="str", default="1000"),
            group=dict(type="str", default="1000"),
        ),
        supports_check_mode=True,
    )
    phase = module.params["phase"]
    result = dict(changed=False, phase=phase)
    try:
        _files.check_abs_path(module.params["data_dir"], "data_dir")
    except _files.UnsafePath as exc:
        module.fail_json(msg=str(exc), **result)
    data_dir = os.path.abspath(module.params["data_dir"])
    start = time.time()
    missing = _deps.check_all()
    if missing:
        module.fail_json(msg=" ".join(missing), **result)
    for field in ("run_id", "break_lease"):
        if module.params[field] is not None and not re.match(r"\A[\x21-\x7e]{1,256}\Z", module.params[field]):
            module.fail_json(msg="%s: %r is not a run id (1 to 256 printable ASCII characters, no spaces)"
                             % (field, module.params[field][:300]), **result)
    if not 1 <= module.params["lease_seconds"] <= 7 * 86400:
        module.fail_json(msg="lease_seconds: %d must be 1 to 604800" % module.params["lease_seconds"], **result)
    if phase == "cleanup" and not os.path.lexists(data_dir):
        result.update(removed=[], msg="%s does not exist: nothing to clean" % data_dir)
        module.exit_json(**result)
    if phase != "definition":
        try:
            _files.check_real_dir(data_dir, "data_dir")
        except _files.UnsafePath as exc:
            module.fail_json(msg="%s (create the node identity first: --tags enr)" % exc, **result)
    if module.check_mode and phase not in ("status", "definition", "prepare"):
        result["msg"] = "check mode: the ceremony does not run"
        module.exit_json(**result)
    lock = None
    try:
        try:
            if phase not in ("status", "definition"):
                lock = _Lock(module, data_dir)
            if phase == "status":
                phase_status(module, data_dir, result)
            elif phase == "definition":
                phase_definition(module, result)
            elif phase == "prepare":
                lock.take(phase)
                if lock.taken_over:
                    result["lease_taken_over"] = lock.taken_over
                phase_prepare(module, data_dir, result)
            elif phase == "cleanup":
                phase_cleanup(module, data_dir, lock, result)
            else:
                lock.check(phase)
                if phase in ("round1", "round2", "round3"):
                    phase_round(module, data_dir, result, phase)
                elif phase == "finish":
                    phase_finish(module, data_dir, result)
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
        except _files.RefuseOverwrite as exc:
            result["seconds"] = round(time.time() - start, 3)
            module.fail_json(msg="%s: %s. Move it away and rerun" % (phase, exc), **result)
        except OSError as exc:
            # An unwritable data dir, a full disk...: name the place, not a traceback.
            result["seconds"] = round(time.time() - start, 3)
            module.fail_json(msg="phase %s on %s: %s%s (check the data dir's owner and permissions, or run with become)"
                             % (phase, data_dir, exc.strerror or exc, " (%s)" % exc.filename if exc.filename else ""),
                             **result)
    finally:
        if lock is not None:
            lock.close()
    result["seconds"] = round(time.time() - start, 3)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
