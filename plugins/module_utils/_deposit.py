# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Deposit data files as charon writes them (charon-formats.md §5)."""

from __future__ import annotations

GWEI_PER_ETH = 1000000000
DEPOSIT_CLI_VERSION = "2.7.0"


class DepositError(ValueError):
    """An invalid deposit amount or entry."""


def verify_deposit_amounts(amounts, compounding=False):
    """Raise DepositError naming the field when an amount breaks charon's rules."""
    raise NotImplementedError


def dedup_amounts(amounts):
    """Sorted unique amounts (charon DedupAmounts)."""
    raise NotImplementedError


def default_amounts(version, compounding=False):
    """Amounts DKG uses when the definition has none, in Gwei."""
    raise NotImplementedError


def deposit_file_name(amount_gwei):
    """deposit-data.json for 32 ETH, else deposit-data-<N>eth.json."""
    raise NotImplementedError


def deposit_entry(pubkey, wc, amount, signature, fork_version, network_name):
    """One deposit-data entry (dict in charon's key order)."""
    raise NotImplementedError


def marshal_deposit_file(entries):
    """JSON bytes of a deposit file: entries sorted by pubkey, Go 1-space indent."""
    raise NotImplementedError


def verify_deposit_entry(entry, expected_network=None, expected_fork_version=None):
    """List of problems with one deposit-data entry (empty when valid)."""
    raise NotImplementedError
