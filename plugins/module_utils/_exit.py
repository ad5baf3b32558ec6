# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Voluntary exits of distributed validators (charon-formats.md §10): pure functions.

- which of the cluster's validators to exit (by DV pubkey, by beacon index, or all);
- sign a partial ``VoluntaryExit`` with one key share, verify a partial against its public share;
- combine a threshold of partials (Lagrange at the share indices, §10.2) and check the result
  against the DV public key;
- the JSON shapes: ``SignedVoluntaryExit`` as the beacon API takes it, and the partial-exit
  record this collection writes and carries between hosts::

    {"public_key": "0x<DV pubkey>", "share_idx": <1..n>,
     "signed_exit_message": {"message": {"epoch": "<dec>", "validator_index": "<dec>"},
                             "signature": "0x<partial signature>"}}

  which is one entry of charon's Obol-API ``partial_exits`` list plus the share index (§10.5).

Files (one layout, so that ``charon exit broadcast --exit-from-dir`` can read a directory):
full exits are ``<exit_dir>/exit-0x<pubkey>.json`` (charon reads every ``exit-*`` entry of the
directory as a ``SignedVoluntaryExit`` and takes the pubkey from the name), partial exits are
``<exit_dir>/partial/partial-exit-0x<pubkey>-share-<i>.json``: apart, and under a name charon
never picks up.

The exit epoch defaults to charon's ``--exit-epoch`` default, 194048 on every network (charon
v1.10.3 ``cmd/exit.go``), so that operators mixing ``charon exit sign`` and this collection sign
the same message.  A beacon node accepts an exit only from its epoch on, so an epoch beyond the
network's current one (194048 on hoodi before 2027-07-27) gets a warning.

No I/O here: beacon lookups are passed in as a callable, key shares as ints.  Key shares never
appear in a return value or an error message.
"""

from __future__ import annotations

import re

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _eth2

# Statuses of a validator whose exit is already under way or done (beacon API validator
# status names); active_slashed validators are being exited by the protocol.
EXITING_STATUSES = frozenset([
    "active_exiting", "active_slashed", "exited_unslashed", "exited_slashed",
    "withdrawal_possible", "withdrawal_done",
])
# Only an active validator can sign a valid exit; pending ones are rejected by the chain.
SIGNABLE_STATUSES = frozenset(["active_ongoing"])
NOT_FOUND = "not_found"

_PUBKEY_RE = re.compile(r"^(0x)?[0-9a-fA-F]{96}$")

# charon v1.10.3 cmd/exit.go: --exit-epoch default, the same for every network.
DEFAULT_EXIT_EPOCH = 194048
# Epochs past the current one before an exit epoch is called far-future (256 epochs: about 27 h
# at 12 s x 32 slots, about 6 h on gnosis): room for clock skew and for signing a little ahead.
FUTURE_EPOCH_MARGIN = 256
UINT64_LIMIT = 2 ** 64
PARTIAL_SUBDIR = "partial"


class ExitError(ValueError):
    """A refusal or an inconsistency, with a message naming the validator / share concerned."""


# Encoding helpers ------------------------------------------------------------------------------

def hex0x(data):
    return "0x" + bytes(data).hex()


def unhex(text, size, field):
    """Raw bytes of ``"0x…"`` (or bare) hex text of exactly ``size`` bytes; errors name ``field``."""
    if isinstance(text, (bytes, bytearray)):
        raw = bytes(text)
    else:
        value = str(text).strip()
        if value[:2] in ("0x", "0X"):
            value = value[2:]
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise ExitError("%s: %r is not hex" % (field, text))
    if len(raw) != size:
        raise ExitError("%s: expected %d bytes, got %d" % (field, size, len(raw)))
    return raw


def norm_pubkey(text, field="pubkey"):
    """Canonical lowercase ``0x`` form of a 48-byte public key."""
    return hex0x(unhex(text, 48, field))


def _uint(value, field):
    if isinstance(value, bool):
        raise ExitError("%s: %r is not a non-negative integer" % (field, value))
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ExitError("%s: %r is not a non-negative integer" % (field, value))
    if not 0 <= number < 2 ** 64:
        raise ExitError("%s: %r does not fit a uint64" % (field, value))
    return number


def check_epoch(value, field="epoch"):
    """The exit epoch as an int in uint64 range, or ExitError naming ``field``."""
    return _uint(value, field)


def full_exit_name(pubkey):
    """``exit-0x<pubkey>.json``: the name charon exit fetch writes and exit broadcast reads."""
    return "exit-%s.json" % norm_pubkey(pubkey)


def partial_exit_name(pubkey, share_index):
    """``partial-exit-0x<pubkey>-share-<i>.json`` (in PARTIAL_SUBDIR): never an ``exit-*`` name."""
    return "partial-exit-%s-share-%d.json" % (norm_pubkey(pubkey), int(share_index))


def check_genesis_validators_root(network, reported, source):
    """The genesis validators root to sign with: the network's pinned one, which ``reported``
    (what the beacon node at ``source`` says) must equal; for a network without a pinned root,
    the reported one.  Raises ExitError on a mismatch."""
    got = unhex(reported, 32, "genesis_validators_root from %s" % source)
    pinned = getattr(network, "genesis_validators_root", None)
    if pinned is not None and bytes(pinned) != got:
        raise ExitError("wrong chain: the beacon node at %s reports genesis validators root %s, but %s's is %s; "
                        "it is another chain using %s's fork version (a devnet or a misconfigured node). "
                        "Refusing to sign: point it at a %s beacon node"
                        % (source, hex0x(got), network.name, hex0x(pinned), network.name, network.name))
    return got


def future_epoch_warning(network, epoch, now, margin=FUTURE_EPOCH_MARGIN):
    """A warning text when ``epoch`` lies more than ``margin`` epochs after ``network``'s current
    epoch at unix time ``now`` (a beacon node rejects the exit until then), else None."""
    current = network.current_epoch(now)
    if int(epoch) <= current + margin:
        return None
    seconds = (int(epoch) - current) * network.slot_seconds * network.slots_per_epoch
    return ("epoch %d is %d epochs (about %d days) after %s's current epoch %d: a beacon node accepts a voluntary "
            "exit only from its epoch on, so this exit cannot be included before then; charon broadcasts it and "
            "the beacon node refuses it. Every operator must sign the same epoch (charon exit sign --exit-epoch "
            "defaults to %d): to exit now, set the same past epoch everywhere"
            % (int(epoch), int(epoch) - current, seconds // 86400, network.name, current, DEFAULT_EXIT_EPOCH))


# Selection -------------------------------------------------------------------------------------

def parse_selectors(values):
    """Split the ``validators`` option into (DV pubkeys, beacon indices); empty means all."""
    pubkeys, indices = [], []
    for pos, value in enumerate(values or []):
        field = "validators[%d]" % pos
        if isinstance(value, int) and not isinstance(value, bool):
            indices.append(_uint(value, field))
        elif isinstance(value, str) and value.strip().isdigit():
            indices.append(_uint(value, field))
        elif isinstance(value, str) and _PUBKEY_RE.match(value.strip()):
            pubkeys.append(norm_pubkey(value, field))
        else:
            raise ExitError("%s: %r is neither a distributed validator public key (0x + 96 hex) "
                            "nor a validator index" % (field, value))
    return pubkeys, indices


def select_validators(cluster_pubkeys, selectors, lookup, aliases=None):
    """Resolve the selection against the lock and the beacon node.

    ``cluster_pubkeys``: the lock's DV pubkeys (0x hex, lock order).  ``lookup(ids)`` returns
    beacon entries ``{index, status, pubkey}`` for the given ids (0x pubkeys or indices).
    ``aliases`` maps other pubkeys the lookup may answer with (charon answers with this node's
    public shares) to DV pubkeys.  Returns ``[{pubkey, validator_index, status}]`` in lock
    order; validators the beacon node does not know get ``validator_index None`` and status
    ``not_found`` (only allowed when all validators are selected).
    """
    cluster = [norm_pubkey(p, "lock pubkey") for p in cluster_pubkeys]
    known = set(cluster)
    to_dv = dict((p, p) for p in cluster)
    for alias, dv in (aliases or {}).items():
        to_dv[norm_pubkey(alias, "alias")] = norm_pubkey(dv, "alias")
    lookup_for = dict((dv, dv) for dv in cluster)
    for alias, dv in to_dv.items():
        if alias != dv:
            lookup_for[dv] = alias  # query by the alias the API understands
    pubkeys, indices = parse_selectors(selectors)
    for pos, pk in enumerate(pubkeys):
        if pk not in known:
            raise ExitError("unknown validator %s (validators[%d]): it is not one of this cluster's "
                            "distributed validators (cluster-lock.json)" % (pk, pos))
    explicit = bool(pubkeys or indices)
    wanted = pubkeys if explicit else list(cluster)

    ids = [lookup_for[pk] for pk in wanted] + [str(i) for i in indices]
    entries = lookup(ids) if ids else []
    by_pubkey, by_index = {}, {}
    for entry in entries:
        dv = to_dv.get(str(entry["pubkey"]).lower())
        if dv is not None:
            by_pubkey[dv] = entry
        by_index[int(entry["index"])] = (dv, entry)

    chosen = list(wanted)
    for index in indices:
        if index not in by_index:
            raise ExitError("unknown validator index %d: the beacon node does not know it" % index)
        dv, entry = by_index[index]
        if dv is None:
            raise ExitError("unknown validator index %d (%s): it is not one of this cluster's distributed "
                            "validators (cluster-lock.json)" % (index, entry["pubkey"]))
        if dv not in chosen:
            chosen.append(dv)

    result = []
    for dv in cluster:  # lock order, each once
        if dv not in chosen:
            continue
        entry = by_pubkey.get(dv)
        if entry is None:
            if explicit:
                raise ExitError("validator %s is not known to the beacon node (not deposited or not yet "
                                "processed): it cannot exit" % dv)
            result.append({"pubkey": dv, "validator_index": None, "status": NOT_FOUND})
        else:
            result.append({"pubkey": dv, "validator_index": int(entry["index"]), "status": str(entry["status"])})
    return result


def action_for(status):
    """What to do with a validator in ``status``: 'sign', 'none' (already exiting) or 'skip' (cannot exit now)."""
    if status in SIGNABLE_STATUSES:
        return "sign"
    if status in EXITING_STATUSES:
        return "none"
    return "skip"


# Signing ---------------------------------------------------------------------------------------

def signing_root(epoch, validator_index, capella_fork_version, genesis_validators_root):
    """The root every share signs (DOMAIN_VOLUNTARY_EXIT, Capella fork version per EIP-7044)."""
    return _eth2.voluntary_exit_signing_root(int(epoch), int(validator_index), bytes(capella_fork_version),
                                             bytes(genesis_validators_root))


def signed_exit(epoch, validator_index, signature):
    """SignedVoluntaryExit JSON as the beacon API takes it."""
    return {"message": {"epoch": str(int(epoch)), "validator_index": str(int(validator_index))},
            "signature": hex0x(signature)}


def partial_record(pubkey, share_index, epoch, validator_index, signature):
    """The partial-exit record (see the module docstring)."""
    return {"public_key": norm_pubkey(pubkey), "share_idx": int(share_index),
            "signed_exit_message": signed_exit(epoch, validator_index, signature)}


def sign_partial(secret, epoch, validator_index, capella_fork_version, genesis_validators_root):
    """Partial signature (96 bytes) of the exit with one key share (an int)."""
    return _bls.sign(secret, signing_root(epoch, validator_index, capella_fork_version, genesis_validators_root))


def share_index_of(public_shares, share_pubkey):
    """1-based share index of ``share_pubkey`` among a DV's public shares (operator position + 1)."""
    want = bytes(share_pubkey)
    for pos, share in enumerate(public_shares):
        if bytes(share) == want:
            return pos + 1
    return None


def normalize_partial(entry, where="partial_exits"):
    """One partial from either shape: a partial-exit record, or an ``exits`` entry of dv_exit.

    Returns ``{pubkey, share_index, epoch, validator_index, signature(bytes)}``, or None for an
    ``exits`` entry that carries no partial (nothing was signed on that host).
    """
    if not isinstance(entry, dict):
        raise ExitError("%s: expected a mapping, got %s" % (where, type(entry).__name__))
    try:
        if "signed_exit_message" in entry:
            msg = entry["signed_exit_message"]
            return {
                "pubkey": norm_pubkey(entry["public_key"], where + ".public_key"),
                "share_index": _uint(entry["share_idx"], where + ".share_idx"),
                "epoch": _uint(msg["message"]["epoch"], where + ".epoch"),
                "validator_index": _uint(msg["message"]["validator_index"], where + ".validator_index"),
                "signature": unhex(msg["signature"], 96, where + ".signature"),
            }
        if not entry.get("partial_signature"):
            return None
        return {
            "pubkey": norm_pubkey(entry["pubkey"], where + ".pubkey"),
            "share_index": _uint(entry["share_index"], where + ".share_index"),
            "epoch": _uint(entry["epoch"], where + ".epoch"),
            "validator_index": _uint(entry["validator_index"], where + ".validator_index"),
            "signature": unhex(entry["partial_signature"], 96, where + ".partial_signature"),
        }
    except (KeyError, TypeError) as exc:
        raise ExitError("%s: missing field %s (expected a partial-exit record or a dv_exit 'exits' entry)"
                        % (where, exc))


def verify_partial(public_share, epoch, validator_index, capella_fork_version, genesis_validators_root, signature):
    """True when ``signature`` is the share's signature of this exit."""
    root = signing_root(epoch, validator_index, capella_fork_version, genesis_validators_root)
    return _bls.verify(bytes(public_share), root, bytes(signature))


def combine(pubkey, public_shares, threshold, epoch, validator_index, capella_fork_version,
            genesis_validators_root, partials):
    """Threshold-combine the partials of one validator into its full exit signature.

    ``partials`` are normalized partials (``normalize_partial``) of this validator.  Each is
    checked first (same epoch and index, a known share index, a valid signature under its
    public share); the combined signature is checked against the DV public key.
    Returns ``(signature96, share_indices_used, share_indices_present)``.
    """
    pubkey = norm_pubkey(pubkey)
    n = len(public_shares)
    root = signing_root(epoch, validator_index, capella_fork_version, genesis_validators_root)
    good = {}
    for p in partials:
        who = "partial exit of share %s for validator %s" % (p["share_index"], pubkey)
        if p["epoch"] != int(epoch) or p["validator_index"] != int(validator_index):
            raise ExitError("%s is for epoch %d, index %d, but this exit is epoch %d, index %d "
                            "(all operators must sign the same epoch)"
                            % (who, p["epoch"], p["validator_index"], int(epoch), int(validator_index)))
        if not 1 <= p["share_index"] <= n:
            raise ExitError("%s: share index out of range 1..%d" % (who, n))
        if not _bls.verify(bytes(public_shares[p["share_index"] - 1]), root, p["signature"]):
            raise ExitError("%s does not verify against its public share in the lock (wrong key, "
                            "network or epoch)" % who)
        good[p["share_index"]] = p["signature"]
    present = sorted(good)
    if len(present) < int(threshold):
        raise ExitError("validator %s: %d partial exits present, threshold is %d: %d missing (shares present: %s)"
                        % (pubkey, len(present), int(threshold), int(threshold) - len(present), present or "none"))
    used = present[:int(threshold)]
    signature = _bls.interpolate_g2(dict((x, good[x]) for x in used))
    if not _bls.verify(unhex(pubkey, 48, "pubkey"), root, signature):
        raise ExitError("validator %s: the combined exit signature does not verify under the distributed "
                        "public key (do the lock's public shares match the keys that signed?)" % pubkey)
    return signature, used, present
