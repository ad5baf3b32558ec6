#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: dv_exit
short_description: Sign, submit or combine voluntary exits of distributed validators
version_added: 0.1.0
description:
  - The last step of the operator journey. A distributed validator leaves the beacon chain once a threshold of
    its operators have signed the same C(VoluntaryExit) with their key shares.
  - Selects validators from the node's C(cluster-lock.json) by distributed public key, by beacon-chain index, or all of them.
  - Looks up each validator's index and status from the beacon node API, as a validator client would, and first
    checks that the beacon node is on the lock's network (C(GET /eth/v1/beacon/genesis)).
  - With O(delivery=submit) or O(delivery=file) it signs a partial exit with this host's key share, decrypting
    the keystore in O(data_dir)C(/validator_keys) with its password file. With O(delivery=submit) the partial is posted
    to this node's charon validator API, which verifies it, shares it with its peers and broadcasts the combined
    exit once a threshold of partials is there. With O(delivery=file) it is written as a partial-exit file.
  - With O(delivery=combine) it takes the partial exits gathered from the operators (O(partial_exits)), verifies each
    against its public share in the lock, combines a threshold of them by Lagrange interpolation at the share
    indices, verifies the result under the validator's public key and broadcasts it to O(beacon_node_url).
  - The domain is C(DOMAIN_VOLUNTARY_EXIT) with the network's Capella fork version (EIP-7044) and the genesis
    validators root the beacon node reports.
  - An exit cannot be undone, so nothing is signed or sent unless O(confirm=true).
  - A validator whose exit is already under way or done (C(active_exiting), C(active_slashed), C(exited_*),
    C(withdrawal_*)), or whose exit already waits in the beacon node's pool, is reported unchanged.
    Validators that are not active yet (C(pending_*)) or unknown to the beacon node are skipped with a warning.
  - Key shares and keystore passwords never appear in the results or logs. Partial signatures are not secret and are returned.
  - Needs the C(py_arkworks_bls12381) and C(cryptography) Python packages on the managed host; the
    C(dvops.charon.python_deps) role installs them in a venv whose interpreter the module should run with.
author:
  - dvops.charon contributors (@dvops)
options:
  data_dir:
    description:
      - charon's data directory, holding C(cluster-lock.json) and C(validator_keys/) (C(keystore-<i>.json) and
        its password file C(keystore-<i>.txt), C(i) the validator's position in the lock).
      - O(delivery=combine) reads only the lock.
    type: path
    required: true
  validators:
    description:
      - Which validators to exit, each a distributed validator public key (C(0x) and 96 hex characters) or a
        beacon-chain validator index.
      - Empty means every validator of the cluster.
      - A key that is not in the lock, or an index that is unknown or not the cluster's, fails the module.
    type: list
    elements: raw
    default: []
  delivery:
    description:
      - V(submit) signs and posts the partial exit to this node's charon validator API (O(validator_api_url)).
      - V(file) signs and writes the partial exit into O(exit_dir).
      - V(sign) signs and only returns the partial exit (RV(exits[].partial_signature)), for a V(combine) step
        on another host to gather; nothing is written or sent, so the task reports no change.
      - V(combine) combines O(partial_exits) and broadcasts the full exit to O(beacon_node_url).
    type: str
    choices: [submit, file, sign, combine]
    default: submit
  validator_api_url:
    description:
      - charon's validator API (C(--validator-api-address)) where V(submit) posts partial exits.
      - Also used for the beacon lookups when O(beacon_node_url) is not set (charon proxies them; it is asked
        with this node's public shares, as a validator client would).
    type: str
    default: http://localhost:3600
  beacon_node_url:
    description:
      - A beacon node API for the lookups (and, with V(combine), the broadcast). Required for V(combine).
    type: str
  epoch:
    description:
      - The exit epoch. Every operator must sign the same one.
      - Default is charon's for the lock's network (C(charon exit --exit-epoch)), the Capella epoch
        (mainnet 194048, goerli 162304, hoodi 256); networks without one need it set.
    type: int
  exit_dir:
    description:
      - Directory for V(file) (required there) and, optionally, for V(combine).
      - V(file) writes C(exit-<0xpubkey>-share-<share_idx>.json), compact JSON, mode 0600, holding one entry of
        charon's Obol-API C(partial_exits) plus the share index.
      - 'The partial-exit record is C({"public_key": "0x<DV pubkey>", "share_idx": <n>, "signed_exit_message":
        {"message": {"epoch": "<dec>", "validator_index": "<dec>"}, "signature": "0x<partial signature>"}}).'
      - Such a record can be passed back in O(partial_exits).
      - O(exit_dir) is created (mode 0700) when missing.
      - V(combine) writes the full exit as C(exit-<0xpubkey>.json), the C(SignedVoluntaryExit) JSON that
        C(charon exit fetch) writes and C(charon exit broadcast --exit-from-file) reads.
      - An existing file with other content is never overwritten; the module fails naming it.
    type: path
  partial_exits:
    description:
      - For V(combine), the partial exits gathered from the operators. Either the RV(exits) entries of this module
        run with V(sign), V(submit) or V(file) on the operator hosts, or the content of partial-exit files.
      - Entries without a partial signature (nothing signed on that host) are ignored.
    type: list
    elements: dict
    default: []
  confirm:
    description:
      - Must be V(true) for anything to be signed or sent, because an exit cannot be undone.
      - Not needed in check mode, which signs and sends nothing.
    type: bool
    default: false
  timeout:
    description: Timeout in seconds of each HTTP request.
    type: int
    default: 30
  validate_certs:
    description: Verify TLS certificates of HTTPS endpoints.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description:
      - Looks up the validators, decrypts the keystores to check the passwords, and reports what would be signed
        and sent (with the signing roots), but signs, writes and sends nothing.
      - With V(combine), partials given are verified and combined, but nothing is broadcast.
  diff_mode:
    support: none
    description: Nothing is diffed; the results list what was signed and sent.
seealso:
  - name: charon exit
    description: charon's own exit commands (Obol API based).
    link: https://docs.obol.org/run/running/quickstart-exit
notes:
  - All operators of a cluster must use the same delivery path; do not mix V(submit) through charon with
    C(charon exit sign) through the Obol API.
  - The partial signature of a share is deterministic, so signing again gives the same bytes.
'''

EXAMPLES = r'''
- name: Sign this operator's partial exit of one validator and submit it to charon
  dvops.charon.dv_exit:
    data_dir: /opt/charon/.charon
    validators: ["0xa9b0...e3"]
    confirm: true
  vars:
    ansible_python_interpreter: "{{ python_deps_python }}"
  register: partial

- name: Write partial exits of every validator to files instead
  dvops.charon.dv_exit:
    data_dir: /opt/charon/.charon
    delivery: file
    exit_dir: /opt/charon/exits
    beacon_node_url: http://localhost:5052
    epoch: 256
    confirm: true
  vars:
    ansible_python_interpreter: "{{ python_deps_python }}"

- name: Combine the operators' partials on one host and broadcast
  dvops.charon.dv_exit:
    data_dir: /opt/charon/.charon
    delivery: combine
    beacon_node_url: http://localhost:5052
    partial_exits: "{{ ansible_play_hosts | map('extract', hostvars, ['partial', 'exits']) | flatten }}"
    confirm: true
  vars:
    ansible_python_interpreter: "{{ python_deps_python }}"
  run_once: true
'''

RETURN = r'''
exits:
  description: One entry per selected validator, in lock order.
  returned: always
  type: list
  elements: dict
  contains:
    pubkey:
      description: Distributed validator public key.
      type: str
      sample: '0xa9b0...e3'
    validator_index:
      description: Beacon-chain index (V(null) when the beacon node does not know the validator).
      type: int
      sample: 1234
    status:
      description: The validator status the beacon node reported (or V(not_found)).
      type: str
      sample: active_ongoing
    epoch:
      description: The exit epoch.
      type: int
      sample: 194048
    share_index:
      description: This host's share index (1-based operator position); V(null) with V(combine).
      type: int
      sample: 2
    signing_root:
      description: The root the shares sign (V(null) when the index is unknown).
      type: str
    action:
      description: V(sign) (signed or would be), V(none) (already exiting, or exit in the pool), V(skip) (not active yet or unknown).
      type: str
      sample: sign
    partial_signature:
      description: This share's partial signature (V(null) when nothing was signed, and in check mode).
      type: str
    sent:
      description: Whether something was posted for this validator by this run.
      type: bool
    file:
      description: The partial-exit (V(file)) or full-exit (V(combine) with O(exit_dir)) file path.
      type: str
      returned: when a file is involved
    answer:
      description: What the API answered to the post (C(url), C(status), C(body)).
      type: dict
      returned: when something was posted
    signature:
      description: The combined signature (V(combine)).
      type: str
      returned: with V(combine) when the threshold was met
    partials:
      description: Number of distinct valid partials given (V(combine)).
      type: int
      returned: with V(combine)
    share_indices:
      description: Share indices of the partials combined (V(combine)).
      type: list
      elements: int
      returned: with V(combine)
    threshold_met:
      description: Whether at least RV(threshold) valid partials were there (V(combine)).
      type: bool
      returned: with V(combine)
    in_pool:
      description: Whether the beacon node's pool already holds an exit of this validator.
      type: bool
threshold:
  description: The cluster's threshold.
  returned: always
  type: int
  sample: 3
operators:
  description: Number of operators (shares per validator).
  returned: always
  type: int
  sample: 4
share_index:
  description: This host's share index (V(null) with V(combine)).
  returned: always
  type: int
epoch:
  description: The exit epoch used.
  returned: always
  type: int
  sample: 194048
network:
  description: The lock's network name.
  returned: always
  type: str
  sample: hoodi
genesis_validators_root:
  description: As reported by the beacon node.
  returned: always
  type: str
msg:
  description: What was done, in words.
  returned: always
  type: str
'''

import glob
import json
import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dvops.charon.plugins.module_utils import _beacon, _bls, _cluster, _deps, _exit, _files, _networks

_KEYSTORE_RE = re.compile(r"keystore-(?:insecure-)?([0-9]+)\.json$")


class _Fail(Exception):
    pass


def _keystore_files(key_dir):
    """{lock position: path} of the keystores, as charon's loader names them."""
    found = {}
    for path in glob.glob(os.path.join(key_dir, "keystore-*.json")):
        match = _KEYSTORE_RE.search(os.path.basename(path))
        if match:
            found[int(match.group(1))] = path
    return found


def _read_keystore(path):
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except (IOError, OSError) as exc:
        raise _Fail("cannot read %s: %s" % (path, exc.strerror or exc))
    except ValueError as exc:
        raise _Fail("%s is not JSON: %s" % (path, exc))


def _share_index(lock, key_dir):
    """This node's share index, from the public share each keystore names (no decryption)."""
    files = _keystore_files(key_dir)
    if not files:
        raise _Fail("no keystore-<i>.json in %s: this host holds no key shares (is data_dir right?)" % key_dir)
    index = None
    for pos, path in sorted(files.items()):
        if pos >= len(lock.distributed_validators):
            raise _Fail("%s: the lock has only %d validators" % (path, len(lock.distributed_validators)))
        pub = _exit.unhex(str(_read_keystore(path).get("pubkey", "")), 48, "%s pubkey" % path)
        x = _exit.share_index_of(lock.distributed_validators[pos].public_shares, pub)
        if x is None:
            raise _Fail("%s holds a share that is not in the lock's public shares of validator %d (keystores and "
                        "cluster-lock.json do not belong together)" % (path, pos))
        if index is not None and x != index:
            raise _Fail("%s is share %s but other keystores are share %s" % (path, x, index))
        index = x
    return index, files


def _decrypt_share(keystore_lib, path, expected_pub):
    """Secret share (int) of one keystore; the password is read from the .txt next to it."""
    pw_path = path[:-len(".json")] + ".txt"
    try:
        with open(pw_path, "rb") as f:
            password = f.read().decode("utf-8")
    except (IOError, OSError) as exc:
        raise _Fail("cannot read the keystore password %s: %s" % (pw_path, exc.strerror or exc))
    except UnicodeDecodeError:
        raise _Fail("the keystore password %s is not UTF-8" % pw_path)
    try:
        secret = keystore_lib.decrypt(_read_keystore(path), password)
    except keystore_lib.KeystoreError as exc:
        raise _Fail("cannot decrypt %s with its password file %s: %s" % (path, pw_path, exc))
    sk = _bls.sk_from_bytes(secret)
    if _bls.secret_to_public(sk) != bytes(expected_pub):
        raise _Fail("%s decrypts to a key that is not its public share in the lock" % path)
    return sk


def _existing_partial(entry, public_share, capella, gvr):
    """The partial signature in an existing partial-exit file, if it is this exit's; else fail naming it."""
    path = entry["file"]
    try:
        with open(path, "rb") as f:
            part = _exit.normalize_partial(json.loads(f.read().decode("utf-8")), path)
    except (IOError, OSError, ValueError) as exc:
        raise _Fail("%s exists but cannot be read as a partial exit (%s); it is never overwritten: move it away first"
                    % (path, exc))
    if (part["pubkey"], part["share_index"], part["epoch"], part["validator_index"]) != (
            entry["pubkey"], entry["share_index"], entry["epoch"], entry["validator_index"]) or not \
            _exit.verify_partial(public_share, part["epoch"], part["validator_index"], capella, gvr, part["signature"]):
        raise _Fail("%s exists but holds another exit (epoch %s, index %s) or an invalid signature; it is never "
                    "overwritten: move it away first" % (path, part["epoch"], part["validator_index"]))
    return _exit.hex0x(part["signature"])


def _pool_indices(client):
    return set(int(e["message"]["validator_index"]) for e in client.voluntary_exit_pool()
               if isinstance(e, dict) and isinstance(e.get("message"), dict) and "validator_index" in e["message"])


def _write_exit_file(path, doc):
    """Write compact JSON 0600 unless the same content is there; True when written."""
    data = json.dumps(doc, separators=(",", ":")).encode("utf-8")
    try:
        _files.ensure_dir(os.path.dirname(path), mode=0o700)
    except OSError as exc:
        raise _Fail("exit_dir: cannot create %s: %s" % (os.path.dirname(path), exc.strerror or exc))
    if os.path.lexists(path):
        try:
            with open(path, "rb") as f:
                existing = f.read()
        except (IOError, OSError) as exc:
            raise _Fail("cannot read %s: %s" % (path, exc.strerror or exc))
        if existing.strip() == data:
            return False
        raise _Fail("%s exists with other content (another epoch?); it is never overwritten: move it away first" % path)
    try:
        _files.write_new(path, data, mode=0o600)
    except (_files.RefuseOverwrite, OSError) as exc:
        raise _Fail("cannot write %s: %s" % (path, exc))
    return True


def run(module):
    p = module.params
    check = module.check_mode
    delivery = p["delivery"]
    data_dir = os.path.abspath(p["data_dir"])
    lock_path = os.path.join(data_dir, "cluster-lock.json")
    key_dir = os.path.join(data_dir, "validator_keys")
    result = dict(changed=False, exits=[], threshold=None, operators=None, share_index=None, epoch=None,
                  network=None, genesis_validators_root=None)

    # Refuse first: nothing may happen by accident.
    if not p["confirm"] and not check:
        raise _Fail("confirm: refusing to sign or send voluntary exits without confirm=true (dvops_exit_confirm): "
                    "an exit cannot be undone", result)
    if delivery == "combine" and not p["beacon_node_url"]:
        raise _Fail("beacon_node_url: required with delivery=combine (the full exit is broadcast to a beacon node)", result)
    if delivery == "file" and not p["exit_dir"]:
        raise _Fail("exit_dir: required with delivery=file", result)
    # Bounds (hardening, wip/harden): refused before anything is read, signed or sent.
    if p["epoch"] is not None and not 0 <= p["epoch"] < 2 ** 64:
        raise _Fail("epoch: must be a uint64 (0 to 2^64-1), got %d" % p["epoch"], result)
    if not 1 <= p["timeout"] <= 3600:
        raise _Fail("timeout: must be 1 to 3600 seconds, got %d" % p["timeout"], result)
    for field in ("data_dir", "exit_dir"):
        if p[field] is not None and "\x00" in p[field]:
            raise _Fail("%s: a path cannot contain a NUL byte" % field, result)
    try:
        _deps.require("py_arkworks_bls12381")
        keystore_lib = None
        if delivery != "combine":
            _deps.require("cryptography")
            from ansible_collections.dvops.charon.plugins.module_utils import _keystore as keystore_lib
    except _deps.MissingDependency as exc:
        raise _Fail(str(exc), result)

    try:
        lock = _cluster.load_file(lock_path)
    except _cluster.ClusterFormatError as exc:
        raise _Fail("data_dir: cannot load the cluster lock %s: %s" % (lock_path, exc), result)
    if not getattr(lock, "distributed_validators", None):
        raise _Fail("%s has no distributed validators (is it a cluster definition?)" % lock_path, result)
    definition = lock.definition
    try:
        network = definition.network()
    except _networks.NetworkError as exc:
        raise _Fail("%s: %s" % (lock_path, exc), result)
    epoch = p["epoch"] if p["epoch"] is not None else network.capella_epoch
    if epoch is None:
        raise _Fail("epoch: charon has no default exit epoch for %s; set epoch (dvops_exit_epoch), the same on every "
                    "operator" % network.name, result)
    threshold = int(definition.threshold)
    operators = len(lock.distributed_validators[0].public_shares)
    result.update(threshold=threshold, operators=operators, epoch=epoch, network=network.name)

    share_index, key_files, aliases = None, {}, {}
    dv_hex = [_exit.hex0x(dv.distributed_public_key) for dv in lock.distributed_validators]
    if delivery != "combine":
        share_index, key_files = _share_index(lock, key_dir)
        result["share_index"] = share_index
        if not p["beacon_node_url"]:
            # Through charon, as a validator client: it knows the validators by this node's public shares.
            for pos, dv in enumerate(lock.distributed_validators):
                aliases[_exit.hex0x(dv.public_shares[share_index - 1])] = dv_hex[pos]

    lookup_url = p["beacon_node_url"] or p["validator_api_url"]
    client = _beacon.BeaconClient(lookup_url, timeout=p["timeout"], validate_certs=p["validate_certs"])
    genesis = client.genesis()
    bn_fork = str(genesis["genesis_fork_version"]).lower()
    if bn_fork != "0x" + bytes(definition.fork_version).hex():
        try:
            bn_name = _networks.by_fork_version(bn_fork).name
        except _networks.NetworkError:
            bn_name = "unknown network"
        raise _Fail("wrong network: the beacon node at %s is on %s (genesis fork version %s) but the cluster lock %s is "
                    "for %s (%s)" % (lookup_url, bn_name, bn_fork, lock_path, network.name,
                                     "0x" + bytes(definition.fork_version).hex()), result)
    gvr = _exit.unhex(genesis["genesis_validators_root"], 32, "genesis_validators_root from %s" % lookup_url)
    result["genesis_validators_root"] = _exit.hex0x(gvr)
    capella = network.capella_fork_version

    selected = _exit.select_validators(dv_hex, p["validators"], client.validators, aliases)
    pool = set()
    if any(s["status"] in _exit.SIGNABLE_STATUSES for s in selected):
        try:
            pool = _pool_indices(client)
        except _beacon.BeaconError as exc:
            # Only an optimisation (an exit already waiting needs no new signature); the status check stands.
            module.warn("cannot read the voluntary-exit pool, assuming it empty: %s" % exc)

    sender = None
    if delivery == "submit":
        sender = _beacon.BeaconClient(p["validator_api_url"], timeout=p["timeout"], validate_certs=p["validate_certs"])
    elif delivery == "combine":
        sender = client

    partials = []
    if delivery == "combine":
        for pos, entry in enumerate(p["partial_exits"]):
            part = _exit.normalize_partial(entry, "partial_exits[%d]" % pos)
            if part is None:
                continue
            if part["pubkey"] not in dv_hex:
                raise _Fail("partial_exits[%d]: validator %s is not in this cluster's lock" % (pos, part["pubkey"]), result)
            partials.append(part)

    exits = result["exits"]
    for sel in selected:
        pos = dv_hex.index(sel["pubkey"])
        dv = lock.distributed_validators[pos]
        index = sel["validator_index"]
        entry = dict(pubkey=sel["pubkey"], validator_index=index, status=sel["status"], epoch=epoch,
                     share_index=share_index, signing_root=None, partial_signature=None, sent=False,
                     in_pool=index in pool, action=_exit.action_for(sel["status"]))
        exits.append(entry)
        if index is not None:
            entry["signing_root"] = _exit.hex0x(_exit.signing_root(epoch, index, capella, gvr))
        if entry["action"] == "skip":
            module.warn("validator %s (index %s) is %s: it cannot exit now; skipped" % (sel["pubkey"], index, sel["status"]))
            continue
        if entry["action"] == "sign" and entry["in_pool"]:
            entry["action"] = "none"  # the combined exit already waits in the pool
        if entry["action"] == "none":
            continue

        if delivery == "combine":
            _combine_one(entry, dv, threshold, capella, gvr, partials, sender, p["exit_dir"], check, result)
            continue

        if delivery == "file":
            entry["file"] = os.path.join(p["exit_dir"], "exit-%s-share-%d.json" % (sel["pubkey"], share_index))
            if os.path.lexists(entry["file"]):
                # Written by an earlier run: check it instead of signing again.
                entry["partial_signature"] = _existing_partial(entry, dv.public_shares[share_index - 1], capella, gvr)
                continue
        if pos not in key_files:
            raise _Fail("no keystore for validator %s (keystore-%d.json) in %s" % (sel["pubkey"], pos, key_dir), result)
        # Decrypt even in check mode: a wrong password shows up in the dry run.
        secret = _decrypt_share(keystore_lib, key_files[pos], dv.public_shares[share_index - 1])
        if check:
            result["changed"] = result["changed"] or delivery != "sign"
            continue
        sig = _exit.sign_partial(secret, epoch, index, capella, gvr)
        del secret
        entry["partial_signature"] = _exit.hex0x(sig)
        if delivery == "submit":
            try:
                entry["answer"] = sender.submit_voluntary_exit(_exit.signed_exit(epoch, index, sig))
            except _beacon.BeaconError as exc:
                # Report what was already sent for the other validators along with the error.
                raise _Fail("charon refused the partial exit of %s: %s" % (sel["pubkey"], exc), result)
            entry["sent"] = result["changed"] = True
        elif delivery == "file":
            _write_exit_file(entry["file"], _exit.partial_record(sel["pubkey"], share_index, epoch, index, sig))
            result["changed"] = entry["fresh"] = True

    verb = {"submit": "submitted", "file": "written", "sign": "signed", "combine": "broadcast"}[delivery]
    done = [e for e in exits if e["action"] == "sign"]
    if check:
        result["msg"] = "check mode: would sign/%s %d exit(s) of %d selected" % (delivery, len(done), len(exits))
    else:
        acted = [e for e in done if e["sent"] or (delivery == "sign" and e["partial_signature"])
                 or (delivery == "file" and e["partial_signature"] and e.get("fresh"))]
        result["msg"] = "%d exit(s) %s, %d already exiting or in the pool, %d skipped" % (
            len(acted), verb,
            len([e for e in exits if e["action"] == "none"]), len([e for e in exits if e["action"] == "skip"]))
    for entry in exits:
        entry.pop("fresh", None)
    return result


def _combine_one(entry, dv, threshold, capella, gvr, partials, sender, exit_dir, check, result):
    mine = [x for x in partials if x["pubkey"] == entry["pubkey"]]
    distinct = sorted(set(x["share_index"] for x in mine))
    entry.update(partials=len(distinct), share_indices=[], threshold_met=len(distinct) >= threshold)
    if check and not entry["threshold_met"]:
        # In check mode the hosts sign nothing, so there is nothing to combine yet.
        result["changed"] = True
        return
    sig, used, present = _exit.combine(entry["pubkey"], dv.public_shares, threshold, entry["epoch"],
                                       entry["validator_index"], capella, gvr, mine)
    entry.update(signature=_exit.hex0x(sig), share_indices=used, partials=len(present), threshold_met=True)
    full = _exit.signed_exit(entry["epoch"], entry["validator_index"], sig)
    if check:
        result["changed"] = True
        return
    if exit_dir:
        entry["file"] = os.path.join(exit_dir, "exit-%s.json" % entry["pubkey"])
        _write_exit_file(entry["file"], full)
    try:
        entry["answer"] = sender.submit_voluntary_exit(full)
    except _beacon.BeaconError as exc:
        raise _Fail("the beacon node refused the combined exit of %s: %s" % (entry["pubkey"], exc), result)
    entry["sent"] = result["changed"] = True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            data_dir=dict(type="path", required=True),
            validators=dict(type="list", elements="raw", default=[]),
            delivery=dict(type="str", choices=["submit", "file", "sign", "combine"], default="submit"),
            validator_api_url=dict(type="str", default="http://localhost:3600"),
            beacon_node_url=dict(type="str"),
            epoch=dict(type="int"),
            exit_dir=dict(type="path"),
            partial_exits=dict(type="list", elements="dict", default=[]),
            confirm=dict(type="bool", default=False),
            timeout=dict(type="int", default=30),
            validate_certs=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except _Fail as exc:
        extra = exc.args[1] if len(exc.args) > 1 else {}
        module.fail_json(msg=exc.args[0], **extra)
    except (_exit.ExitError, _beacon.BeaconError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
