#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: charon_cluster_info
short_description: Inspect and verify a charon cluster definition, cluster lock or node data directory
version_added: 0.1.0
description:
  - Reads a charon C(cluster-definition.json), a C(cluster-lock.json), or a whole node data directory, and runs
    the checks C(charon run) and C(charon dkg) make when they load them, without running charon.
  - Understands every cluster version charon reads, V(v1.0.0) to V(v1.11.0), and computes C(config_hash),
    C(definition_hash) and C(lock_hash) with charon's exact rules for each version.
  - "Checks, each reported by name in RV(checks): C(config_hash), C(definition_hash), C(lock_hash) (computed vs stored),
    C(num_validators), C(threshold), C(deposit_amounts), C(operator_enrs) (locks only; for a definition see
    RV(ceremony_ready)), the EIP-712 C(operator_signatures) and
    C(creator_signature), C(public_shares) (the shares interpolate to each validator key), C(signature_aggregate),
    C(builder_registrations), C(node_signatures) and C(deposit_data) in the lock."
  - "For a data directory also: C(enr_private_key) (the node's key matches one operator, which gives RV(node_index)),
    C(deposit_data_files) (every file's entries verify and match the lock) and C(keystores) (each keystore decrypts
    with its password and holds this node's key share of that validator)."
  - Read only. Keystore passwords, key shares and the ENR private key are read to check them but never returned
    or logged.
  - Needs the C(coincurve), C(pycryptodome), C(py_arkworks_bls12381) and (for keystores) C(cryptography) Python
    packages on the managed host.
author:
  - dvops.charon contributors (@dvops)
extends_documentation_fragment:
  - dvops.charon.python_deps
options:
  path:
    description:
      - A definition file, a lock file (a lock is recognised by its C(cluster_definition) key), or a node data
        directory (charon's C(--data-dir), for example C(.charon)).
      - A data directory must hold C(cluster-lock.json) or, before the DKG, C(cluster-definition.json). Its
        C(charon-enr-private-key), C(deposit-data*.json) files and C(validator_keys/) are checked when present.
    type: path
    required: true
  verify_signatures:
    description:
      - Verify the EIP-712, BLS and secp256k1 signatures and the public-share consistency. With V(false) only the
        hashes and structural rules are checked (like C(charon run --no-verify), which only warns about them).
    type: bool
    default: true
  fail_on_error:
    description:
      - Fail the task when any check fails, listing the failures. With V(false) the result reports them in
        RV(errors) and RV(valid) instead.
      - A file that is not JSON, has an unsupported version or is truncated always fails the task.
    type: bool
    default: true
  verified_state:
    description:
      - Verify a data directory once per change. After a full check that passes, its result is kept in this file
        (0600, written atomically, no secrets) with a SHA-256 digest of every file the check reads (the lock and
        definition, C(charon-enr-private-key), C(deposit-data*.json), every entry of C(validator_keys/), that is
        keystores and their password files) and of the options. While that digest is unchanged the result comes from the
        file, without decrypting keystores or verifying signatures (RV(verified) is V(unchanged)); any changed,
        added, removed or renamed file, or a link in place of one, brings the full check back.
      - Put it beside the data directory, never inside it (a container that can write the data directory must
        not be able to write this). Writing it is bookkeeping and does not count as a change.
      - An absolute path. Only used when O(path) is a data directory. Unset, every call runs the full check.
    type: path
  network:
    description:
      - The network the cluster must be on (for example V(mainnet), V(hoodi); V(prater) means V(goerli)). Adds
        the C(network) check. By default any network charon knows is accepted.
    type: str
  charon_version:
    description:
      - The charon release whose network table applies. V(holesky) is known only to the V(v1.10) line.
    type: str
    default: v1.10.3
  custom_network:
    description:
      - A network charon does not know, as given to charon with its C(--testnet-*) flags.
    type: dict
    suboptions:
      name:
        description: Network name.
        type: str
        required: true
      chain_id:
        description: Chain id (used by the EIP-712 signatures).
        type: int
        required: true
      genesis_fork_version:
        description: Genesis fork version, C(0x) and 8 hex characters.
        type: str
        required: true
      capella_fork_version:
        description: Capella fork version (voluntary exits).
        type: str
        required: true
      genesis_time:
        description: Genesis time in unix seconds (the builder registrations' timestamp).
        type: int
        required: true
      slot_seconds:
        description: Seconds per slot.
        type: int
        default: 12
attributes:
  check_mode:
    support: full
    description: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to show.
seealso:
  - name: Obol cluster configuration
    description: The cluster definition and lock files.
    link: https://docs.obol.org/learn/charon/cluster-configuration
notes:
  - A contract (ERC-1271, for example a Safe) operator signature cannot be verified offline and is reported as a
    failed C(operator_signatures) check.
  - Deposit data placeholders in v1.6/v1.7 locks (empty fields, amount 0) are hashed but not verified, as in charon.
'''

EXAMPLES = r'''
- name: Verify the lock of this node before starting charon
  dvops.charon.charon_cluster_info:
    path: /opt/charon/.charon
    network: mainnet
  vars:
    ansible_python_interpreter: "{{ python_deps_python }}"
  register: cluster

- name: Show which operator this node is
  ansible.builtin.debug:
    msg: "{{ cluster.name }}: node {{ cluster.node_index }} ({{ cluster.operators[cluster.node_index].peer_name }}),
      lock {{ cluster.lock_hash }}"

- name: Inspect a definition someone sent, without failing on problems
  dvops.charon.charon_cluster_info:
    path: /tmp/cluster-definition.json
    fail_on_error: false
  register: definition

- name: Stop when the definition is not what was agreed
  ansible.builtin.assert:
    that:
      - definition.valid
      - definition.num_validators == 10
    fail_msg: "{{ definition.errors }}"

- name: A lock on a devnet charon does not know
  dvops.charon.charon_cluster_info:
    path: /opt/charon/.charon/cluster-lock.json
    custom_network:
      name: kurtosis
      chain_id: 3151908
      genesis_fork_version: '0x10000038'
      capella_fork_version: '0x40000038'
      genesis_time: 1700000000
'''

RETURN = r'''
kind:
  description: What O(path) is.
  returned: success
  type: str
  choices: [definition, lock, data_dir]
  sample: lock
file:
  description: The definition or lock file that was read.
  returned: success
  type: str
  sample: /opt/charon/.charon/cluster-lock.json
version:
  description: The cluster definition version.
  returned: success
  type: str
  sample: v1.10.0
name:
  description: The cluster name.
  returned: success
  type: str
  sample: my cluster
uuid:
  description: The definition UUID.
  returned: success
  type: str
  sample: 0194FDC2-FA2F-4CC0-81D3-FF12045B73C8
network:
  description: The network of the definition's fork version, V(null) when charon would not know it.
  returned: success
  type: str
  sample: hoodi
fork_version:
  description: The genesis fork version of the definition.
  returned: success
  type: str
  sample: '0x10000910'
num_validators:
  description: Number of distributed validators in the definition.
  returned: success
  type: int
  sample: 2
threshold:
  description: Signing threshold.
  returned: success
  type: int
  sample: 3
operators:
  description: The operators in order (the index is the node index; the share index is index + 1).
  returned: success
  type: list
  elements: dict
  contains:
    address:
      description: Operator address, empty for unsigned definitions.
      type: str
    enr:
      description: The operator's ENR.
      type: str
    peer_id:
      description: libp2p peer ID, V(null) when the ENR is invalid.
      type: str
    peer_name:
      description: charon's peer name, V(null) when the ENR is invalid.
      type: str
  sample:
    - address: ""
      enr: "enr:-HW4QOOzaUkBDJxca3MoJItjqSv438Ko2ah4oYd6gUczVEReYp9e5Eo6fhwZIG7YYHqzXROm3VVAVX-tJ1W9IQC3XjiAgmlkgnY0\
        iXNlY3AyNTZrMaECOuyMY6-I8YdN_zrY8FrKXdRBAyrGuaxug6eTR_tmQbw"
      peer_id: 16Uiu2HAkyPgq9ymjEjrYa97M9nKTe7Mxm4fsRc4sWUeCXc5bx7qD
      peer_name: sore-kitchen
verified:
  description: V(full) when the checks ran, V(unchanged) when O(verified_state) held a passing result for the same files
    and options.
  returned: when O(verified_state) is set and O(path) is a data directory
  type: str
  sample: unchanged
validators:
  description: The distributed validator public keys (empty for a definition).
  returned: success
  type: list
  elements: str
  sample: ['0x944066a805e47400c186a4d126cfce2d7141b039f02838ef368b0b6928c1d5eb42a71005ed1bb3f0c7b64052258a3ff1']
config_hash:
  description: The config hash as computed.
  returned: success
  type: str
  sample: '0x8541038ffbda7cb3845bf7cd97cae13a5da1aa29038ddfaffbf8de77b0acd09b'
definition_hash:
  description: The definition hash as computed.
  returned: success
  type: str
  sample: '0x6e3792f2d1823b2f946cb37c9943964c226fe4ada5207ddde4d5958cdc8f02e3'
lock_hash:
  description: The lock hash as computed, V(null) without a lock.
  returned: success
  type: str
  sample: '0x4bdc5e45df93f492f62503d124ef1f73feccee53cff3925abf9965e4fa956929'
stored:
  description: The hashes as stored in the file (V(null) when absent).
  returned: success
  type: dict
  contains:
    config_hash:
      description: Stored config hash.
      type: str
    definition_hash:
      description: Stored definition hash.
      type: str
    lock_hash:
      description: Stored lock hash.
      type: str
  sample:
    config_hash: '0x8541038ffbda7cb3845bf7cd97cae13a5da1aa29038ddfaffbf8de77b0acd09b'
    definition_hash: '0x6e3792f2d1823b2f946cb37c9943964c226fe4ada5207ddde4d5958cdc8f02e3'
    lock_hash: null
checks:
  description: Check name -> passed.
  returned: success
  type: dict
  sample: {config_hash: true, definition_hash: true, lock_hash: true, signature_aggregate: true}
errors:
  description: Human-readable failures, each prefixed with the check name.
  returned: always
  type: list
  elements: str
  sample: ['node_signatures: node_signatures[1]: does not recover to operator 1''s ENR key']
valid:
  description:
    - Whether every check passed. For a definition these are the checks charon makes when it loads one (hashes,
      signatures, deposit amounts, threshold); operators that have not joined yet (empty ENR) or an ENR that does
      not parse leave it valid, as in charon, and are reported by RV(ceremony_ready).
  returned: success
  type: bool
  sample: true
ceremony_ready:
  description:
    - Whether a DKG can run on it - RV(valid), every operator has joined (non-empty ENR), every ENR parses with a
      valid record signature, and no peer is listed twice. V(false) with RV(ceremony_problems) saying why.
  returned: success
  type: bool
  sample: false
ceremony_problems:
  description: Why the operators are not ready for the ceremony, per operator (empty when they are).
  returned: success
  type: list
  elements: str
  sample: ['operators[2].enr: empty, the operator 0x3F2a...91 has not joined yet']
node_index:
  description: For a data directory, the operator index whose ENR matches the node's key (V(null) when none does).
  returned: success
  type: int
  sample: 0
peer_name:
  description: For a data directory, this node's peer name.
  returned: success
  type: str
  sample: sore-kitchen
deposit_data_files:
  description: For a data directory, the C(deposit-data*.json) files found.
  returned: success
  type: list
  elements: str
  sample: [deposit-data-1eth.json, deposit-data.json]
keystores:
  description: For a data directory, the number of keystores in C(validator_keys/).
  returned: success
  type: int
  sample: 2
'''

import glob
import os

from ansible.module_utils.basic import AnsibleModule, _load_params

from ansible_collections.dvops.charon.plugins.module_utils import (
    _cluster, _deposit, _deps, _enr, _files, _k1, _keystore, _networks, _verified,
)

LOCK_FILE = "cluster-lock.json"
DEFINITION_FILE = "cluster-definition.json"
KEY_FILE = "charon-enr-private-key"
KEYS_DIR = "validator_keys"


def _hex(b):
    return "0x" + bytes(b).hex() if b else None


def _operators(d):
    out = []
    for op in d.operators:
        entry = {"address": op.address, "enr": op.enr, "peer_id": None, "peer_name": None}
        try:
            pid = _enr.peer_id_from_enr(op.enr)
            entry.update(peer_id=pid, peer_name=_enr.peer_name(pid))
        except Exception:  # pylint: disable=broad-except
            pass  # reported by the operator_enrs check
        out.append(entry)
    return out


def _check_node_key(data_dir, d, report):
    """Which operator this node is, from its ENR private key (the key itself stays here)."""
    path = os.path.join(data_dir, KEY_FILE)
    if not os.path.exists(path):
        report.record("enr_private_key", False, ["%s is missing" % path])
        return None, None
    try:
        public = _k1.public_key(_enr.load_private_key_file(path))
    except Exception as exc:  # pylint: disable=broad-except
        report.record("enr_private_key", False, [str(exc)])
        return None, None
    for k, op in enumerate(d.operators):
        try:
            if _enr.public_key_from_enr(op.enr) == public:
                report.record("enr_private_key", True)
                pid = _enr.peer_id(public)
                return k, _enr.peer_name(pid)
        except Exception:  # pylint: disable=broad-except
            continue
    report.record("enr_private_key", False, ["%s does not belong to any operator of the cluster (its ENR is %s)"
                                             % (path, _enr.node_record(_enr.load_private_key_file(path)))])
    return None, None


def _check_deposit_files(data_dir, lock, report, verify_signatures, release):
    d = lock.definition
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(data_dir, "deposit-data*.json")))
    problems = []
    try:
        network = d.network(release).name
    except _networks.NetworkError:
        network = None
    # Every (pubkey, amount) of the lock's deposit data, to tie the files to the lock.
    in_lock, dv_keys = {}, {}
    for dv in lock.distributed_validators:
        real = [dd for dd in ([dv.deposit_data] if dv.deposit_data is not None else []) + list(dv.partial_deposit_data)
                if not dd.placeholder]
        # A v1.6/v1.7 lock may hold only a placeholder: then the files cannot be compared with it.
        dv_keys[bytes(dv.distributed_public_key)] = bool(real)
        for dd in real:
            in_lock[(bytes(dd.pubkey), dd.amount)] = dd
    for name in names:
        path = os.path.join(data_dir, name)
        try:
            entries = _files.loads_json(_files.read_regular(path, 64 << 20))
        except (OSError, ValueError, _files.UnsafePath) as exc:
            problems.append("%s: not a readable JSON deposit file (%s)" % (name, exc))
            continue
        except RecursionError:
            problems.append("%s: not a JSON deposit file (nested too deeply)" % name)
            continue
        if not isinstance(entries, list) or not entries:
            problems.append("%s: expected a non-empty JSON array of deposits" % name)
            continue
        for k, entry in enumerate(entries):
            where = "%s[%d]" % (name, k)
            if not isinstance(entry, dict):
                problems.append("%s: not an object" % where)
                continue
            if verify_signatures:
                problems += ["%s: %s" % (where, p) for p in _deposit.verify_deposit_entry(
                    entry, expected_network=network, expected_fork_version=bytes(d.fork_version))]
            amount = entry.get("amount")
            try:
                pubkey = bytes.fromhex(str(entry.get("pubkey", "")))
            except ValueError:
                problems.append("%s: pubkey is not hex" % where)
                continue
            if isinstance(amount, int) and _deposit.deposit_file_name(amount) != name:
                problems.append("%s: an amount of %d Gwei belongs in %s"
                                % (where, amount, _deposit.deposit_file_name(amount)))
            dd = in_lock.get((pubkey, amount))
            if pubkey not in dv_keys:
                problems.append("%s: pubkey is not a distributed validator of the lock" % where)
            elif dd is None:
                if dv_keys[pubkey]:
                    problems.append("%s: no deposit of this validator and amount in the lock" % where)
            elif (entry.get("withdrawal_credentials") != bytes(dd.withdrawal_credentials).hex()
                  or entry.get("signature") != bytes(dd.signature).hex()):
                problems.append("%s: differs from the lock's deposit data for this validator" % where)
    if names:
        report.record("deposit_data_files", not problems, problems)
    return names


def _check_keystores(data_dir, lock, node_index, report):
    keys_dir = os.path.join(data_dir, KEYS_DIR)
    if not os.path.isdir(keys_dir):
        return 0
    try:
        loaded = _keystore.load_keystores(keys_dir)
    except Exception as exc:  # pylint: disable=broad-except
        # The message names the file and the reason (never the password or the secret).
        report.record("keystores", False, [str(exc)])
        return len(glob.glob(os.path.join(keys_dir, "keystore-*.json")))
    problems = []
    dvs = lock.distributed_validators
    if len(loaded) != len(dvs):
        problems.append("%d keystores for %d distributed validators" % (len(loaded), len(dvs)))
    if node_index is None:
        problems.append("cannot match keystores to shares: this node is not one of the operators")
    else:
        for index, _secret, pubkey in loaded:
            if index >= len(dvs):
                problems.append("keystore-%d: no distributed validator %d in the lock" % (index, index))
                continue
            shares = dvs[index].public_shares
            if node_index >= len(shares) or bytes(shares[node_index]) != bytes(pubkey):
                problems.append("keystore-%d: its key is not this node's share (x=%d) of validator %s"
                                % (index, node_index + 1, _hex(dvs[index].distributed_public_key)))
    report.record("keystores", not problems, problems)
    return len(loaded)


def _locate(path):
    """(kind, file to parse, data dir or None)."""
    if os.path.isdir(path):
        for name in (LOCK_FILE, DEFINITION_FILE):
            candidate = os.path.join(path, name)
            if os.path.isfile(candidate):
                return "data_dir", candidate, path
        return "data_dir", None, path
    return None, path, None


def inspect(path, verify_signatures=True, network=None, release=None):
    """The module's result (without changed/failed) for ``path``; raises ClusterFormatError for bad files."""
    kind, file_path, data_dir = _locate(path)
    if file_path is None:
        raise _cluster.ClusterFormatError("no %s or %s in the directory" % (LOCK_FILE, DEFINITION_FILE), None, path)
    obj = _cluster.load_file(file_path)
    lock = obj if isinstance(obj, _cluster.Lock) else None
    d = lock.definition if lock else obj
    kind = kind or ("lock" if lock else "definition")

    if lock is not None:
        report = _cluster.verify_lock(lock, verify_signatures=verify_signatures, release=release)
    else:
        # Valid the way charon's Definition.VerifyHashes/VerifySignatures say (they hash and sign the ENR text and
        # never parse it); whether every operator joined with a usable ENR is the separate ceremony_ready.
        report = _cluster.verify_definition(d, verify_signatures=verify_signatures, release=release, check_enrs=False)
    not_ready = _cluster.operator_enr_problems(d)
    try:
        net = d.network(release)
    except _networks.NetworkError:
        net = None
    if network:
        try:
            want = _networks.by_name(network, release)
            ok = bytes(d.fork_version) == want.genesis_fork_version
            report.record("network", ok, [] if ok else ["the cluster is on %s (fork version 0x%s), not %s"
                                                        % (net.name if net else "an unknown network",
                                                           bytes(d.fork_version).hex(), want.name)])
        except _networks.NetworkError as exc:
            report.record("network", False, [str(exc)])

    cfg = _cluster.config_hash(d)
    result = {
        "kind": kind,
        "file": file_path,
        "version": d.version,
        "name": d.name,
        "uuid": d.uuid,
        "network": net.name if net else None,
        "fork_version": "0x" + bytes(d.fork_version).hex(),
        "num_validators": d.num_validators,
        "threshold": d.threshold,
        "operators": _operators(d),
        "validators": [_hex(dv.distributed_public_key) for dv in lock.distributed_validators] if lock else [],
        "config_hash": _hex(cfg),
        "definition_hash": _hex(_cluster.definition_hash(d, cfg)),
        "lock_hash": _hex(_cluster.lock_hash(lock)) if lock else None,
        "stored": {"config_hash": _hex(d.config_hash), "definition_hash": _hex(d.definition_hash),
                   "lock_hash": _hex(lock.lock_hash) if lock else None},
    }
    if data_dir is not None:
        node_index, peer_name = _check_node_key(data_dir, d, report)
        result.update(node_index=node_index, peer_name=peer_name, deposit_data_files=[], keystores=0)
        if lock is not None:
            result["deposit_data_files"] = _check_deposit_files(data_dir, lock, report, verify_signatures, release)
            result["keystores"] = _check_keystores(data_dir, lock, node_index, report)
    result.update(checks=dict(report.checks), errors=list(report.errors), valid=report.valid,
                  ceremony_ready=report.valid and not not_ready, ceremony_problems=not_ready)
    return result


def _argument_spec(sub_options=True):
    spec = dict(
        path=dict(type="path", required=True),
        verify_signatures=dict(type="bool", default=True),
        fail_on_error=dict(type="bool", default=True),
        network=dict(type="str"),
        verified_state=dict(type="path"),
        charon_version=dict(type="str", default="v1.10.3"),
        custom_network=dict(type="dict", options=dict(
            name=dict(type="str", required=True),
            chain_id=dict(type="int", required=True),
            genesis_fork_version=dict(type="str", required=True),
            capella_fork_version=dict(type="str", required=True),
            genesis_time=dict(type="int", required=True),
            slot_seconds=dict(type="int", default=12),
        )),
    )
    if not sub_options:
        spec["custom_network"] = dict(type="dict")
    return spec


def main():
    # ansible-core validates the sub-options of a dict option only when the value is a dict: an int or
    # list there raises TypeError inside AnsibleModule (a traceback), a string a message without the
    # option's name. Such a value is checked against a plain dict spec instead, which names it.
    params = _load_params()
    raw = params.get("custom_network") if isinstance(params, dict) else None
    plain = raw is not None and not isinstance(raw, dict)
    module = AnsibleModule(argument_spec=_argument_spec(not plain), supports_check_mode=True)
    if plain:
        module.fail_json(msg="custom_network: expected a dictionary with name, chain_id, genesis_fork_version, "
                         "capella_fork_version, genesis_time (and slot_seconds), got %s" % type(raw).__name__,
                         changed=False)
    p = module.params
    path = os.path.abspath(p["path"])
    base = dict(changed=False, errors=[])
    if not os.path.exists(path):
        module.fail_json(msg="path: %s does not exist" % path, **base)
    if p["verified_state"] is not None and not os.path.isabs(p["verified_state"]):
        # The module writes this file: never somewhere a relative path happens to land.
        module.fail_json(msg="verified_state: %s is not an absolute path" % p["verified_state"], **base)
    needed = ["coincurve", "Crypto.Hash.keccak"]
    if p["verify_signatures"] or os.path.isdir(path):
        needed.append("py_arkworks_bls12381")
    if os.path.isdir(os.path.join(path, KEYS_DIR)):
        needed.append("cryptography")
    try:
        for name in needed:
            _deps.require(name)
    except _deps.MissingDependency as exc:
        module.fail_json(msg=str(exc), **base)

    try:
        _networks.by_name("mainnet", p["charon_version"])
    except _networks.NetworkError as exc:
        module.fail_json(msg="charon_version: %s" % exc, **base)
    custom = p["custom_network"]
    if custom:
        try:
            _networks.register_network(custom["name"], custom["chain_id"], custom["genesis_fork_version"],
                                       custom["capella_fork_version"], custom["genesis_time"], custom["slot_seconds"])
        except _networks.NetworkError as exc:
            module.fail_json(msg="custom_network: %s" % exc, **base)

    try:
        def check():
            return inspect(path, p["verify_signatures"], p["network"], p["charon_version"])
        if p["verified_state"] and os.path.isdir(path):
            options = {k: p[k] for k in ("verify_signatures", "network", "charon_version", "custom_network")}
            result = _verified.verify_once(check, path, p["verified_state"], options,
                                           write=not module.check_mode)
            if result.get("verified_warning"):
                module.warn(result.pop("verified_warning"))
        else:
            result = check()
    except _cluster.ClusterFormatError as exc:
        module.fail_json(msg="path: %s" % exc, field=exc.field, file=exc.source, **base)
    except _deps.MissingDependency as exc:
        module.fail_json(msg=str(exc), **base)
    result["changed"] = False
    if p["fail_on_error"] and not result["valid"]:
        failed = [k for k, v in result["checks"].items() if not v]
        msg = "%s: %d check(s) failed (%s): %s" % (result["file"], len(failed), ", ".join(failed),
                                                   "; ".join(result["errors"][:20]))
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
