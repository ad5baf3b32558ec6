# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Deposit data files as charon writes them (``eth2util/deposit/deposit.go``, charon-formats.md §5).

Amounts are Gwei ints throughout.  ``deposit_entry``/``marshal_deposit_file`` produce the
launchpad JSON byte for byte; ``verify_deposit_entry`` recomputes both roots and checks the
BLS signature against the deposit domain of the entry's fork version.
"""

from __future__ import annotations

import re
from decimal import Decimal

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _eth2
from ansible_collections.dvops.charon.plugins.module_utils._gojson import go_json

GWEI_PER_ETH = 1000000000
MIN_DEPOSIT_AMOUNT = 1 * GWEI_PER_ETH
MAX_DEPOSIT_AMOUNT = 32 * GWEI_PER_ETH
MAX_COMPOUNDING_DEPOSIT_AMOUNT = 2048 * GWEI_PER_ETH
DEPOSIT_CLI_VERSION = "2.7.0"
ENTRY_KEYS = ("pubkey", "withdrawal_credentials", "amount", "signature", "deposit_message_root",
              "deposit_data_root", "fork_version", "network_name", "deposit_cli_version")


class DepositError(ValueError):
    """An invalid deposit amount or entry."""


def _amount(value, field):
    if isinstance(value, bool) or not isinstance(value, int):
        raise DepositError("%s must be an integer amount in Gwei, got %r" % (field, value))
    return value


def verify_deposit_amounts(amounts, compounding=False, field="deposit_amounts"):
    """Raise DepositError naming the entry when an amount breaks charon's rules.

    Each amount is at least 1 ETH and at most 32 ETH (2048 ETH with compounding withdrawal credentials).
    """
    if amounts is None:
        return
    maximum = MAX_COMPOUNDING_DEPOSIT_AMOUNT if compounding else MAX_DEPOSIT_AMOUNT
    for i, amount in enumerate(amounts):
        name = "%s[%d]" % (field, i)
        amount = _amount(amount, name)
        if amount < MIN_DEPOSIT_AMOUNT:
            raise DepositError("%s=%d Gwei is below the 1 ETH minimum" % (name, amount))
        if amount > maximum:
            raise DepositError("%s=%d Gwei is above the %d ETH maximum%s"
                               % (name, amount, maximum // GWEI_PER_ETH, "" if compounding else " (2048 ETH needs compounding)"))


def dedup_amounts(amounts):
    """Sorted unique amounts (charon ``DedupAmounts``): ``[16, 16]`` ETH gives one 16 ETH set."""
    return sorted(set(_amount(a, "deposit_amounts[%d]" % i) for i, a in enumerate(amounts or [])))


def _version_tuple(version):
    m = re.match(r"^v?(\d+)\.(\d+)", str(version))
    if not m:
        raise DepositError("version %r is not a cluster version like v1.10.0" % (version,))
    return int(m.group(1)), int(m.group(2))


def default_amounts(version, compounding=False):
    """Amounts (Gwei) DKG uses when the definition has no ``deposit_amounts``.

    v1.8+: 1 and 32 ETH, or 1, 8, 32, 256 ETH when compounding; v1.6/v1.7: 32 ETH; earlier
    versions produce no deposit data (empty list).
    """
    v = _version_tuple(version)
    if v >= (1, 8):
        eth = [1, 8, 32, 256] if compounding else [1, 32]
    elif v >= (1, 6):
        eth = [32]
    else:
        eth = []
    return [e * GWEI_PER_ETH for e in eth]


def _format_float(x):
    # Go strconv.FormatFloat(x, 'f', -1, 64): shortest round-trip digits, never an exponent.
    text = format(Decimal(repr(float(x))).normalize(), "f")
    return text


def deposit_file_name(amount_gwei):
    """``deposit-data.json`` for exactly 32 ETH, else ``deposit-data-<N>eth.json`` (``1.5eth``, ``256eth``)."""
    amount = _amount(amount_gwei, "amount")
    if amount == MAX_DEPOSIT_AMOUNT:
        return "deposit-data.json"
    return "deposit-data-%seth.json" % _format_float(amount / 1e9)


def _b(value, size, field):
    if not isinstance(value, (bytes, bytearray)) or len(value) != size:
        raise DepositError("%s must be %d raw bytes" % (field, size))
    return bytes(value)


def deposit_entry(pubkey, wc, amount, signature, fork_version, network_name):
    """One deposit-data entry: a dict in charon's key order, hex without 0x, amount a number."""
    pubkey = _b(pubkey, 48, "pubkey")
    wc = _b(wc, 32, "withdrawal_credentials")
    signature = _b(signature, 96, "signature")
    fork_version = _b(fork_version, 4, "fork_version")
    amount = _amount(amount, "amount")
    return {
        "pubkey": pubkey.hex(),
        "withdrawal_credentials": wc.hex(),
        "amount": amount,
        "signature": signature.hex(),
        "deposit_message_root": _eth2.deposit_message_root(pubkey, wc, amount).hex(),
        "deposit_data_root": _eth2.deposit_data_root(pubkey, wc, amount, signature).hex(),
        "fork_version": fork_version.hex(),
        "network_name": network_name,
        "deposit_cli_version": DEPOSIT_CLI_VERSION,
    }


def marshal_deposit_file(entries):
    """Bytes of one deposit file: entries (all of one amount) sorted by pubkey hex, Go 1-space indent."""
    entries = list(entries)
    amounts = set(e.get("amount") for e in entries)
    if len(amounts) > 1:
        raise DepositError("a deposit file holds one amount, got %s" % sorted(amounts))
    ordered = [dict((k, e[k]) for k in ENTRY_KEYS if k in e) for e in entries]
    return go_json(sorted(ordered, key=lambda e: e["pubkey"]))


def _hexfield(entry, key, size, errors):
    value = entry.get(key)
    if not isinstance(value, str):
        errors.append("%s is missing or not a string" % key)
        return None
    try:
        raw = bytes.fromhex(value[2:] if value.startswith("0x") else value)
    except ValueError:
        errors.append("%s is not valid hex" % key)
        return None
    if len(raw) != size:
        errors.append("%s must be %d bytes, got %d" % (key, size, len(raw)))
        return None
    return raw


def verify_deposit_entry(entry, expected_network=None, expected_fork_version=None, expected_pubkey=None,
                         expected_withdrawal_credentials=None, expected_amount=None):
    """List of problems with one deposit-data entry (empty when valid).

    Recomputes ``deposit_message_root`` and ``deposit_data_root`` and BLS-verifies the signature
    under ``pubkey`` with the deposit domain of the entry's ``fork_version``.  ``expected_*``
    (raw bytes for keys/versions, Gwei for the amount) add consistency checks.
    """
    if not isinstance(entry, dict):
        return ["deposit entry is not an object"]
    errors = []
    pubkey = _hexfield(entry, "pubkey", 48, errors)
    wc = _hexfield(entry, "withdrawal_credentials", 32, errors)
    signature = _hexfield(entry, "signature", 96, errors)
    msg_root = _hexfield(entry, "deposit_message_root", 32, errors)
    data_root = _hexfield(entry, "deposit_data_root", 32, errors)
    fork = _hexfield(entry, "fork_version", 4, errors)
    amount = entry.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int):
        errors.append("amount must be an integer number of Gwei, got %r" % (amount,))
        amount = None
    elif wc is not None:
        try:
            verify_deposit_amounts([amount], compounding=wc[:1] == b"\x02", field="amount")
        except DepositError as exc:
            errors.append(str(exc).replace("amount[0]", "amount"))
    if wc is not None and wc[:1] not in (b"\x01", b"\x02"):
        errors.append("withdrawal_credentials must start with 0x01 or 0x02, got 0x%s" % wc[:1].hex())
    if entry.get("deposit_cli_version") != DEPOSIT_CLI_VERSION:
        errors.append("deposit_cli_version is %r, charon writes %r" % (entry.get("deposit_cli_version"), DEPOSIT_CLI_VERSION))
    if expected_network is not None and entry.get("network_name") != expected_network:
        errors.append("network_name is %r, expected %r" % (entry.get("network_name"), expected_network))
    if expected_fork_version is not None and fork is not None and fork != bytes(expected_fork_version):
        errors.append("fork_version is %s, expected %s" % (fork.hex(), bytes(expected_fork_version).hex()))
    if expected_pubkey is not None and pubkey is not None and pubkey != bytes(expected_pubkey):
        errors.append("pubkey is not the expected validator key")
    if expected_withdrawal_credentials is not None and wc is not None and wc != bytes(expected_withdrawal_credentials):
        errors.append("withdrawal_credentials are %s, expected %s" % (wc.hex(), bytes(expected_withdrawal_credentials).hex()))
    if expected_amount is not None and amount is not None and amount != expected_amount:
        errors.append("amount is %d, expected %d" % (amount, expected_amount))
    if None in (pubkey, wc, amount):
        return errors
    if msg_root is not None and msg_root != _eth2.deposit_message_root(pubkey, wc, amount):
        errors.append("deposit_message_root does not match the entry")
    if signature is not None:
        if data_root is not None and data_root != _eth2.deposit_data_root(pubkey, wc, amount, signature):
            errors.append("deposit_data_root does not match the entry")
        if fork is not None and not _bls.verify(pubkey, _eth2.deposit_signing_root(pubkey, wc, amount, fork), signature):
            errors.append("signature does not verify under pubkey for fork_version %s" % fork.hex())
    return errors
