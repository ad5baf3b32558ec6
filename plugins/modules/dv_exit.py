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
  - The domain is C(DOMAIN_VOLUNTARY_EXIT) with the network's Capella fork version (EIP-7044) and the network's
    genesis validators root. For the known networks that root is pinned in the collection's network table and the
    beacon node must report the same one, or nothing is signed (a node on another chain with the same fork version
    would otherwise make every partial invalid, or valid on the wrong chain). Custom networks take the beacon node's.
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
      - The default is where the collection's compose project publishes it on the operator host (127.0.0.1 only).
        When it does not answer, the module says what to do (start the node, or set this option or O(beacon_node_url)).
    type: str
    default: http://127.0.0.1:3600
  beacon_node_url:
    description:
      - A beacon node API for the lookups (and, with V(combine), the broadcast). Required for V(combine) unless
        O(broadcast=false), which can combine without any beacon node (known networks; the validator index is taken
        from the partials and bound by the combined signature, which is verified under the validator key).
    type: str
  epoch:
    description:
      - The exit epoch, a uint64. Every operator must sign the same one, or no threshold of partials ever agrees.
      - Default 194048, charon's C(--exit-epoch) default on every network (charon v1.10.3 C(cmd/exit.go)), so that
        operators using C(charon exit sign) without that flag and operators using this module sign the same exit.
      - A beacon node accepts a voluntary exit only from its epoch on. 194048 is past on mainnet, sepolia, holesky,
        gnosis and chiado, but on hoodi it is reached on 2027-07-27, and until then charon aggregates the partials and
        broadcasts, and the beacon node refuses the exit. To exit on hoodi before that, every operator sets the same
        past epoch here (and in C(charon exit sign --exit-epoch) if anyone uses it).
      - An epoch more than 256 epochs (about 27 hours at 12-second slots) after the network's current epoch, by the
        wall clock and the network's genesis time, gets a warning for that reason.
    type: int
  exit_dir:
    description:
      - Directory of full exits, the one to give C(charon exit broadcast --exit-from-dir). Required for V(file), and
        for V(combine) with O(broadcast=false); optional for V(combine) otherwise.
      - V(combine) writes the full exit as C(exit-<0xpubkey>.json), the C(SignedVoluntaryExit) JSON that
        C(charon exit fetch) writes and C(charon exit broadcast --exit-from-file) reads (charon reads every C(exit-*)
        entry of the directory).
      - V(file) writes partial exits apart, in the subdirectory C(partial/), as
        C(partial-exit-<0xpubkey>-share-<share_idx>.json), a name charon never reads as a full exit; each holds one
        entry of charon's Obol-API C(partial_exits) plus the share index.
      - 'The partial-exit record is C({"public_key": "0x<DV pubkey>", "share_idx": <n>, "signed_exit_message":
        {"message": {"epoch": "<dec>", "validator_index": "<dec>"}, "signature": "0x<partial signature>"}}).'
      - Such a record can be passed back in O(partial_exits).
      - Files are compact JSON, mode 0600 (as C(charon exit fetch) writes them), owned by O(owner)/O(group), written
        atomically. O(exit_dir) and C(partial/) are created mode 0700 with that owner when missing; a symlink there is
        refused.
      - An existing file with other content is never overwritten; the module fails naming it. One with the same
        content is left as is (its owner and mode brought to the wanted ones).
    type: path
  owner:
    description:
      - Owner (name or uid) of the exit files and of the directories created for them. The exit play passes
        C(charon_uid) (1000), the user charon's container runs as, so that C(charon exit broadcast) in the container
        can read them under C(/opt/charon/.charon/exits).
      - Unset, files belong to the user the module runs as.
    type: raw
  group:
    description: Group (name or gid) of the exit files and directories, like O(owner).
    type: raw
  broadcast:
    description:
      - With V(combine), whether to broadcast the full exit to O(beacon_node_url). V(false) only writes it into
        O(exit_dir), for C(charon exit broadcast) (or this module) to send later.
      - With V(false) and every validator selected (O(validators) empty), a validator with fewer than a threshold of
        partials is skipped with a warning (its full exit can be written by a later run), instead of failing.
    type: bool
    default: true
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

- name: Write partial exits of every validator to files instead (into /opt/charon/.charon/exits/partial/)
  dvops.charon.dv_exit:
    data_dir: /opt/charon/.charon
    delivery: file
    exit_dir: /opt/charon/.charon/exits
    beacon_node_url: http://localhost:5052
    epoch: 256
    confirm: true
  vars:
    ansible_python_interpreter: "{{ python_deps_python }}"
  register: written

- name: Combine them into full exits for charon exit broadcast, without a beacon node
  dvops.charon.dv_exit:
    data_dir: /opt/charon/.charon
    delivery: combine
    broadcast: false
    exit_dir: /opt/charon/.charon/exits
    owner: 1000
    group: 1000
    epoch: 256
    partial_exits: "{{ ansible_play_hosts | map('extract', hostvars, ['written', 'exits']) | flatten }}"
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
      description:
        - The validator status the beacon node reported (or V(not_found)).
        - V(not_looked_up) or V(no_partials) with V(combine), O(broadcast=false) and no O(beacon_node_url).
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
      description: The partial-exit (V(file), in O(exit_dir)C(/partial)) or full-exit (V(combine) with O(exit_dir)) file path.
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
  description: The one signed with (the network's pinned root, which the beacon node confirmed).
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
import time

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
    """The partial signature in an existing partial-exit file, if it is this exit's; else fail naming it.

    A file left by an earlier run is reused only when it is this very exit (same validator, share,
    epoch and index) and its signature verifies under this share for this network: a stale file
    (another epoch, another chain) is never passed on as this run's partial.
    """
    path = entry["file"]
    try:
        with open(path, "rb") as f:
            part = _exit.normalize_partial(json.loads(f.read().decode("utf-8")), path)
    except (IOError, OSError, ValueError) as exc:
        raise _Fail("%s exists but cannot be read as a partial exit (%s); it is never overwritten: move it away first"
                    % (path, exc))
    if part is None or (part["pubkey"], part["share_index"], part["epoch"], part["validator_index"]) != (
            entry["pubkey"], entry["share_index"], entry["epoch"], entry["validator_index"]) or not \
            _exit.verify_partial(public_share, part["epoch"], part["validator_index"], capella, gvr, part["signature"]):
        raise _Fail("%s exists but holds another exit (epoch %s, index %s) or an invalid signature; it is never "
                    "overwritten: move it away first" % (path, part and part["epoch"], part and part["validator_index"]))
    return _exit.hex0x(part["signature"])


def _pool_indices(client):
    return set(int(e["message"]["validator_index"]) for e in client.voluntary_exit_pool()
               if isinstance(e, dict) and isinstance(e.get("message"), dict) and "validator_index" in e["message"])


def _ids(p):
    """(uid, gid) for the exit files from the owner/group options (None: unchanged)."""
    ids = []
    for field in ("owner", "group"):
        value = p[field]
        if value is None or str(value).strip() == "":
            ids.append(None)
            continue
        resolved = _files.resolve_id(value, field)
        if resolved is None:
            raise _Fail("%s: %r is not a known %s name or a numeric id" % (field, value, "user" if field == "owner" else "group"))
        ids.append(resolved)
    return tuple(ids)


def _exit_dir(path, ids):
    """Create ``path`` (0700, owner/group ``ids``) when missing, or give an existing one that owner (charon
    must get into it; its mode is left alone). A symlink there is refused.  True when something changed."""
    if os.path.islink(path):
        raise _Fail("exit_dir: %s is a symbolic link; exit files are written only into a real directory" % path)
    try:
        if _files.ensure_dir(path, mode=0o700, owner=ids[0], group=ids[1]):
            return True
    except OSError as exc:
        raise _Fail("exit_dir: cannot create %s: %s" % (path, exc.strerror or exc))
    if not os.path.isdir(path):
        raise _Fail("exit_dir: %s exists and is not a directory" % path)
    st = os.lstat(path)
    if (ids[0] is not None and st.st_uid != ids[0]) or (ids[1] is not None and st.st_gid != ids[1]):
        try:
            os.lchown(path, -1 if ids[0] is None else ids[0], -1 if ids[1] is None else ids[1])
        except OSError as exc:
            raise _Fail("exit_dir: cannot give %s to %s:%s: %s" % (path, ids[0], ids[1], exc.strerror or exc))
        return True
    return False


def _write_exit_file(path, doc, ids):
    """Write compact JSON 0600 (owner/group ``ids``) atomically unless the same content is there.

    True when something changed.  An existing file with other content is never replaced; one with
    this content but other ownership or mode is given the wanted ones (charon must read it).
    """
    data = json.dumps(doc, separators=(",", ":")).encode("utf-8")
    dir_changed = _exit_dir(os.path.dirname(path), ids)
    if os.path.lexists(path):
        if os.path.islink(path) or not os.path.isfile(path):
            raise _Fail("%s exists and is not a regular file; it is never replaced: move it away first" % path)
        try:
            with open(path, "rb") as f:
                existing = f.read()
        except (IOError, OSError) as exc:
            raise _Fail("cannot read %s: %s" % (path, exc.strerror or exc))
        if existing.strip() != data:
            raise _Fail("%s exists with other content (another epoch or chain?); it is never overwritten: move it "
                        "away first" % path)
        if _files.fix_attributes(path, mode=0o600, owner=ids[0], group=ids[1]):
            _files.apply_attributes(path, mode=0o600, owner=ids[0], group=ids[1])
            return True
        return dir_changed
    try:
        _files.write_new(path, data, mode=0o600, owner=ids[0], group=ids[1])
    except (_files.RefuseOverwrite, OSError) as exc:
        raise _Fail("cannot write %s: %s" % (path, exc))
    return True


def _connect_hint(p, url):
    if p["beacon_node_url"]:
        return ("check beacon_node_url (dvops_beacon_node_url): the beacon node API at %s does not answer" % url)
    return ("charon's validator API at %s does not answer: start this node's charon (playbooks/node.yml, or "
            "`docker compose up -d` in its base directory; it publishes the validator API on 127.0.0.1:3600), or set "
            "validator_api_url (dvops_exit_validator_api_url) to where it listens, or beacon_node_url "
            "(dvops_beacon_node_url) to look the validators up on a beacon node" % url)


def _offline_selection(dv_hex, selectors, partials, check):
    """Selection without a beacon node (combine, broadcast=false): indices come from the partials.

    In check mode the hosts have signed nothing, so missing partials are not an error there."""
    pubkeys, indices = _exit.parse_selectors(selectors)
    index_of = {}
    for part in partials:
        index_of.setdefault(part["pubkey"], set()).add(part["validator_index"])
    for pk, found in index_of.items():
        if len(found) > 1:
            raise _Fail("partial_exits: validator %s has partials for several indices %s" % (pk, sorted(found)))
    for pos, pk in enumerate(pubkeys):
        if pk not in dv_hex:
            raise _Fail("unknown validator %s (validators[%d]): it is not one of this cluster's distributed validators "
                        "(cluster-lock.json)" % (pk, pos))
    by_index = dict((next(iter(v)), pk) for pk, v in index_of.items())
    for index in indices:
        if index not in by_index and not check:
            raise _Fail("validators: no partial exit given for validator index %d, and without beacon_node_url it "
                        "cannot be looked up" % index)
    chosen = set(pubkeys) | set(by_index[i] for i in indices if i in by_index) if (pubkeys or indices) else set(dv_hex)
    selected = []
    for pk in dv_hex:
        if pk not in chosen:
            continue
        if pk in index_of:
            # Not looked up: the combined signature, verified under the validator key, binds the index.
            selected.append({"pubkey": pk, "validator_index": next(iter(index_of[pk])), "status": "not_looked_up"})
        elif (pubkeys or indices) and not check:
            raise _Fail("validator %s: no partial exit given, nothing to combine" % pk)
        else:
            selected.append({"pubkey": pk, "validator_index": None, "status": "no_partials"})
    return selected


def run(module):
    p = module.params
    check = module.check_mode
    delivery = p["delivery"]
    data_dir = os.path.abspath(p["data_dir"])
    lock_path = os.path.join(data_dir, "cluster-lock.json")
    key_dir = os.path.join(data_dir, "validator_keys")
    result = dict(changed=False, exits=[], threshold=None, operators=None, share_index=None, epoch=None,
                  network=None, genesis_validators_root=None)
    broadcast = delivery != "combine" or p["broadcast"]
    offline = delivery == "combine" and not broadcast and not p["beacon_node_url"]

    # Refuse first: nothing may happen by accident.
    if not p["confirm"] and not check:
        raise _Fail("confirm: refusing to sign or send voluntary exits without confirm=true (dvops_exit_confirm): "
                    "an exit cannot be undone", result)
    if delivery == "combine" and broadcast and not p["beacon_node_url"]:
        raise _Fail("beacon_node_url: required with delivery=combine (the full exit is broadcast to a beacon node; "
                    "broadcast=false only writes it into exit_dir)", result)
    if delivery == "file" and not p["exit_dir"]:
        raise _Fail("exit_dir: required with delivery=file", result)
    if delivery == "combine" and not broadcast and not p["exit_dir"]:
        raise _Fail("exit_dir: required with delivery=combine and broadcast=false (the full exits are written there)",
                    result)
    # Bounds (issue 10): refused before anything is read, signed or sent.
    if not 1 <= p["timeout"] <= 3600:
        raise _Fail("timeout: must be 1 to 3600 seconds, got %d" % p["timeout"], result)
    for field in ("data_dir", "exit_dir"):
        if p[field] is not None and "\x00" in p[field]:
            raise _Fail("%s: a path cannot contain a NUL byte" % field, result)
    try:
        epoch = _exit.DEFAULT_EXIT_EPOCH if p["epoch"] is None else _exit.check_epoch(p["epoch"])
    except _exit.ExitError as exc:
        raise _Fail(str(exc), result)
    ids = _ids(p)
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
    threshold = int(definition.threshold)
    operators = len(lock.distributed_validators[0].public_shares)
    result.update(threshold=threshold, operators=operators, epoch=epoch, network=network.name)
    warning = _exit.future_epoch_warning(network, epoch, time.time())
    if warning:
        module.warn(warning)

    share_index, key_files, aliases = None, {}, {}
    dv_hex = [_exit.hex0x(dv.distributed_public_key) for dv in lock.distributed_validators]
    if delivery != "combine":
        share_index, key_files = _share_index(lock, key_dir)
        result["share_index"] = share_index
        if not p["beacon_node_url"]:
            # Through charon, as a validator client: it knows the validators by this node's public shares.
            for pos, dv in enumerate(lock.distributed_validators):
                aliases[_exit.hex0x(dv.public_shares[share_index - 1])] = dv_hex[pos]

    partials = []
    if delivery == "combine":
        for pos, entry in enumerate(p["partial_exits"]):
            part = _exit.normalize_partial(entry, "partial_exits[%d]" % pos)
            if part is None:
                continue
            if part["pubkey"] not in dv_hex:
                raise _Fail("partial_exits[%d]: validator %s is not in this cluster's lock" % (pos, part["pubkey"]), result)
            partials.append(part)

    client = None
    if offline:
        if network.genesis_validators_root is None:
            raise _Fail("beacon_node_url: %s has no pinned genesis validators root, so combining without a beacon "
                        "node is not possible; set beacon_node_url" % network.name, result)
        gvr = network.genesis_validators_root
        selected = _offline_selection(dv_hex, p["validators"], partials, check)
    else:
        lookup_url = p["beacon_node_url"] or p["validator_api_url"]
        client = _beacon.BeaconClient(lookup_url, timeout=p["timeout"], validate_certs=p["validate_certs"])
        try:
            genesis = client.genesis()
        except _beacon.BeaconError as exc:
            if exc.status is None:
                raise _Fail("%s (%s)" % (_connect_hint(p, lookup_url), exc), result)
            raise
        bn_fork = str(genesis["genesis_fork_version"]).lower()
        if bn_fork != "0x" + bytes(definition.fork_version).hex():
            try:
                bn_name = _networks.by_fork_version(bn_fork).name
            except _networks.NetworkError:
                bn_name = "unknown network"
            raise _Fail("wrong network: the beacon node at %s is on %s (genesis fork version %s) but the cluster lock "
                        "%s is for %s (%s)" % (lookup_url, bn_name, bn_fork, lock_path, network.name,
                                               "0x" + bytes(definition.fork_version).hex()), result)
        gvr = _exit.check_genesis_validators_root(network, genesis["genesis_validators_root"], lookup_url)
        selected = _exit.select_validators(dv_hex, p["validators"], client.validators, aliases)
    result["genesis_validators_root"] = _exit.hex0x(gvr)
    capella = network.capella_fork_version

    pool = set()
    if client is not None and any(s["status"] in _exit.SIGNABLE_STATUSES for s in selected):
        try:
            pool = _pool_indices(client)
        except _beacon.BeaconError as exc:
            # Only an optimisation (an exit already waiting needs no new signature); the status check stands.
            module.warn("cannot read the voluntary-exit pool, assuming it empty: %s" % exc)

    sender = None
    if delivery == "submit":
        sender = _beacon.BeaconClient(p["validator_api_url"], timeout=p["timeout"], validate_certs=p["validate_certs"])
    elif delivery == "combine" and broadcast:
        sender = client

    exits = result["exits"]
    for sel in selected:
        pos = dv_hex.index(sel["pubkey"])
        dv = lock.distributed_validators[pos]
        index = sel["validator_index"]
        action = "sign" if sel["status"] == "not_looked_up" else _exit.action_for(sel["status"])
        entry = dict(pubkey=sel["pubkey"], validator_index=index, status=sel["status"], epoch=epoch,
                     share_index=share_index, signing_root=None, partial_signature=None, sent=False,
                     in_pool=index in pool, action=action)
        exits.append(entry)
        if index is not None:
            entry["signing_root"] = _exit.hex0x(_exit.signing_root(epoch, index, capella, gvr))
        if entry["action"] == "skip":
            if sel["status"] != "no_partials":
                module.warn("validator %s (index %s) is %s: it cannot exit now; skipped" % (sel["pubkey"], index, sel["status"]))
            continue
        if entry["action"] == "sign" and entry["in_pool"]:
            entry["action"] = "none"  # the combined exit already waits in the pool
        if entry["action"] == "none":
            continue

        if delivery == "combine":
            if not broadcast and not p["validators"] and not check:
                # Writing files only, all validators: those still short of a threshold are left for a later
                # run (other operators' partials may come later); an explicit selection must be complete.
                have = len(set(x["share_index"] for x in partials if x["pubkey"] == entry["pubkey"]))
                if have < threshold:
                    entry.update(action="skip", partials=have, share_indices=[], threshold_met=False)
                    module.warn("validator %s: %d partial exit(s) of the %d needed; no full exit written yet"
                                % (entry["pubkey"], have, threshold))
                    continue
            _combine_one(entry, dv, threshold, capella, gvr, partials, sender, p["exit_dir"], ids, check, result)
            continue

        if delivery == "file":
            entry["file"] = os.path.join(p["exit_dir"], _exit.PARTIAL_SUBDIR,
                                         _exit.partial_exit_name(sel["pubkey"], share_index))
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
                if exc.status is None:
                    raise _Fail("cannot submit the partial exit of %s: %s (%s)"
                                % (sel["pubkey"], _connect_hint(dict(p, beacon_node_url=None), p["validator_api_url"]),
                                   exc), result)
                raise _Fail("charon refused the partial exit of %s: %s" % (sel["pubkey"], exc), result)
            entry["sent"] = result["changed"] = True
        elif delivery == "file":
            _exit_dir(p["exit_dir"], ids)  # before partial/ inside it, so that both get the owner
            _write_exit_file(entry["file"], _exit.partial_record(sel["pubkey"], share_index, epoch, index, sig), ids)
            result["changed"] = entry["fresh"] = True

    verb = {"submit": "submitted", "file": "written", "sign": "signed",
            "combine": "broadcast" if broadcast else "written"}[delivery]
    done = [e for e in exits if e["action"] == "sign"]
    if check:
        result["msg"] = "check mode: would sign/%s %d exit(s) of %d selected" % (delivery, len(done), len(exits))
    else:
        acted = [e for e in done if e["sent"] or (delivery == "sign" and e["partial_signature"])
                 or (delivery == "file" and e["partial_signature"] and e.get("fresh"))
                 or (delivery == "combine" and not broadcast and e.get("fresh"))]
        result["msg"] = "%d exit(s) %s, %d already exiting or in the pool, %d skipped" % (
            len(acted), verb,
            len([e for e in exits if e["action"] == "none"]), len([e for e in exits if e["action"] == "skip"]))
    for entry in exits:
        entry.pop("fresh", None)
    return result


def _combine_one(entry, dv, threshold, capella, gvr, partials, sender, exit_dir, ids, check, result):
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
        entry["file"] = os.path.join(exit_dir, _exit.full_exit_name(entry["pubkey"]))
        if _write_exit_file(entry["file"], full, ids):
            entry["fresh"] = result["changed"] = True
    if sender is None:
        return
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
            validator_api_url=dict(type="str", default="http://127.0.0.1:3600"),
            beacon_node_url=dict(type="str"),
            epoch=dict(type="int"),
            exit_dir=dict(type="path"),
            owner=dict(type="raw"),
            group=dict(type="raw"),
            broadcast=dict(type="bool", default=True),
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
