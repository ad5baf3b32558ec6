# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Consensus-spec containers and signing roots charon signs (charon-formats.md §4.6, §5, §10.1).

Only hashing here (``_ssz``); signing and verification are in ``_bls``.  All byte arguments
are raw bytes; lengths are checked with errors that name the field.
"""

from __future__ import annotations

from ansible_collections.dvops.charon.plugins.module_utils import _ssz

DOMAIN_DEPOSIT = bytes.fromhex("03000000")
DOMAIN_APPLICATION_BUILDER = bytes.fromhex("00000001")
DOMAIN_VOLUNTARY_EXIT = bytes.fromhex("04000000")

ETH1_ADDRESS_WITHDRAWAL_PREFIX = b"\x01"
COMPOUNDING_WITHDRAWAL_PREFIX = b"\x02"
DEFAULT_GAS_LIMIT = 30000000
UINT64_MAX = 2 ** 64 - 1


class Eth2Error(ValueError):
    """A field does not fit its consensus type."""


def _bytes(value, size, field):
    if not isinstance(value, (bytes, bytearray)):
        raise Eth2Error("%s must be %d raw bytes, got %s" % (field, size, type(value).__name__))
    if len(value) != size:
        raise Eth2Error("%s must be %d bytes, got %d" % (field, size, len(value)))
    return bytes(value)


def _uint64(value, field):
    if isinstance(value, bool) or not isinstance(value, int):
        raise Eth2Error("%s must be an integer, got %s" % (field, type(value).__name__))
    if not 0 <= value <= UINT64_MAX:
        raise Eth2Error("%s=%d does not fit a uint64" % (field, value))
    return value


def withdrawal_credentials(address, compounding=False):
    """``0x01`` (``0x02`` when compounding) || 11 zero bytes || 20-byte execution address."""
    address = _bytes(address, 20, "withdrawal_address")
    prefix = COMPOUNDING_WITHDRAWAL_PREFIX if compounding else ETH1_ADDRESS_WITHDRAWAL_PREFIX
    return prefix + bytes(11) + address


def deposit_message_root(pubkey, wc, amount_gwei):
    """hash_tree_root(DepositMessage{pubkey Bytes48, withdrawal_credentials Bytes32, amount u64})."""
    return _ssz.container_root([
        _ssz.bytes_vector_root(_bytes(pubkey, 48, "pubkey")),
        _bytes(wc, 32, "withdrawal_credentials"),
        _ssz.uint64_root(_uint64(amount_gwei, "amount")),
    ])


def deposit_data_root(pubkey, wc, amount_gwei, signature):
    """hash_tree_root(DepositData{pubkey, withdrawal_credentials, amount, signature Bytes96})."""
    return _ssz.container_root([
        _ssz.bytes_vector_root(_bytes(pubkey, 48, "pubkey")),
        _bytes(wc, 32, "withdrawal_credentials"),
        _ssz.uint64_root(_uint64(amount_gwei, "amount")),
        _ssz.bytes_vector_root(_bytes(signature, 96, "signature")),
    ])


def deposit_domain(genesis_fork_version):
    """DOMAIN_DEPOSIT with the genesis fork version and a zero genesis validators root."""
    return _ssz.compute_domain(DOMAIN_DEPOSIT, _bytes(genesis_fork_version, 4, "fork_version"), bytes(32))


def deposit_signing_root(pubkey, wc, amount_gwei, genesis_fork_version):
    """The root a deposit signature signs (§5)."""
    return _ssz.signing_root(deposit_message_root(pubkey, wc, amount_gwei), deposit_domain(genesis_fork_version))


def registration_message_root(fee_recipient, gas_limit, timestamp, pubkey):
    """hash_tree_root(ValidatorRegistration{fee_recipient Bytes20, gas_limit, timestamp, pubkey Bytes48})."""
    return _ssz.container_root([
        _ssz.bytes_vector_root(_bytes(fee_recipient, 20, "fee_recipient")),
        _ssz.uint64_root(_uint64(gas_limit, "gas_limit")),
        _ssz.uint64_root(_uint64(timestamp, "timestamp")),
        _ssz.bytes_vector_root(_bytes(pubkey, 48, "pubkey")),
    ])


def builder_domain(genesis_fork_version):
    """DOMAIN_APPLICATION_BUILDER with the genesis fork version and a zero genesis validators root."""
    return _ssz.compute_domain(DOMAIN_APPLICATION_BUILDER, _bytes(genesis_fork_version, 4, "fork_version"), bytes(32))


def registration_signing_root(fee_recipient, gas_limit, timestamp, pubkey, genesis_fork_version):
    """The root a builder registration signature signs (§4.6)."""
    return _ssz.signing_root(registration_message_root(fee_recipient, gas_limit, timestamp, pubkey),
                             builder_domain(genesis_fork_version))


def voluntary_exit_root(epoch, validator_index):
    """hash_tree_root(VoluntaryExit{epoch u64, validator_index u64})."""
    return _ssz.container_root([
        _ssz.uint64_root(_uint64(epoch, "epoch")),
        _ssz.uint64_root(_uint64(validator_index, "validator_index")),
    ])


def voluntary_exit_domain(capella_fork_version, genesis_validators_root):
    """DOMAIN_VOLUNTARY_EXIT with the Capella fork version (EIP-7044) and the chain's genesis validators root."""
    return _ssz.compute_domain(DOMAIN_VOLUNTARY_EXIT, _bytes(capella_fork_version, 4, "capella_fork_version"),
                               _bytes(genesis_validators_root, 32, "genesis_validators_root"))


def voluntary_exit_signing_root(epoch, validator_index, capella_fork_version, genesis_validators_root):
    """The root each share signs for a voluntary exit (§10.1)."""
    return _ssz.signing_root(voluntary_exit_root(epoch, validator_index),
                             voluntary_exit_domain(capella_fork_version, genesis_validators_root))
