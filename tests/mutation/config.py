# -*- coding: utf-8 -*-
"""What ``make mutation`` mutates and which unit tests run against each file's mutants.

Scope: the security-critical helpers (key material, lock verification, the native DKG, its
transport crypto, file writes that must never overwrite, deposit and exit checks) and the
refusal paths of the modules.  Left out, to keep a full run near 20 minutes of one core: pure
formatting/parsing code (the golden-vector tests pin it byte for byte), the definition's EIP-712
signature and hash checks (verify_definition_signatures, verify_definition_hashes: covered by the
vector and tampering tests of test_cluster_verify.py), and the keystore/deposit field parsers.

Tests per file: fastest and most targeted first, since each mutant run stops at the first
failure (``-x``).  Targets run in this order (most critical first).
"""

U = "tests/unit/plugins/module_utils/"
M = "tests/unit/plugins/modules/"

TARGETS = [
    {
        "path": "plugins/module_utils/_dkg_crypto.py",
        "functions": ["verify_message", "unhex", "_pair_key", "_aad", "_nonce", "encrypt_shares", "decrypt_shares"],
        "tests": [U + "test_dkg_crypto_mutants.py", U + "test_dkg_mutants.py", U + "test_dkg.py"],
    },
    {
        "path": "plugins/module_utils/_dkg.py",
        "functions": [
            "_g1", "_g2", "_rand128", "_lagrange_at_zero", "_pok_challenge", "_transcript", "check_params",
            "_sorted_messages", "_check_own", "_round_messages", "_field", "round1", "_parse_round1",
            "_verify_poks", "_verify_feldman", "round2", "_check_transcripts", "round3", "finish",
            "params_from_definition",
        ],
        "tests": [U + "test_dkg_mutants.py", U + "test_dkg.py", U + "test_dkg_rounds_mutants.py",
                  U + "test_dkg_state_mutants.py", U + "test_dkg_params_mutants.py",
                  U + "test_dkg_parse_mutants.py", U + "test_dkg_definition_mutants.py"],
    },
    {
        "path": "plugins/module_utils/_cluster.py",
        "functions": [
            "deposit_amount_problems", "verify_operator_enrs", "verify_definition", "_definition_rules",
            "_Bls.g1", "_Bls.g2", "_Bls.add", "_Bls._check", "_Bls.run", "_verify_shares", "_verify_aggregate",
            "_verify_registrations", "_verify_deposits", "_verify_node_signatures", "verify_lock",
        ],
        "tests": [U + "test_cluster_mutants.py", U + "test_cluster_verify.py", U + "test_cluster.py",
                  U + "test_cluster_more_mutants.py", U + "test_cluster_definition_mutants.py",
                  U + "test_batch_weights.py", U + "test_cluster_batch_mutants.py",
                  U + "test_cluster_verify_more_mutants.py"],
    },
    {"path": "plugins/modules/charon_dkg.py", "refusals": True,
     "tests": [M + "test_charon_dkg_mutants.py", M + "test_charon_dkg.py", M + "test_charon_dkg_more_mutants.py",
               M + "test_charon_dkg_refusal_mutants.py", M + "test_charon_dkg_create_mutants.py",
               M + "test_charon_dkg_fetch_mutants.py", M + "test_charon_dkg_hardening.py",
               M + "test_multiorg_charon_dkg.py", M + "test_charon_dkg_given_mutants.py"]},
    {
        "path": "plugins/module_utils/_files.py",
        "functions": ["_chown", "write_atomic", "write_new", "fix_attributes", "ensure_dir"],
        "tests": [U + "test_files_mutants.py", U + "test_files.py", U + "test_keystore.py", M + "test_charon_enr.py",
                  U + "test_files_write_mutants.py"],
    },
    {
        "path": "plugins/module_utils/_deposit.py",
        "functions": ["verify_deposit_amounts", "verify_deposit_entry"],
        "tests": [U + "test_deposit_mutants.py", U + "test_deposit.py", U + "test_deposit_entry_mutants.py"],
    },
    {
        "path": "plugins/module_utils/_keystore.py",
        "functions": ["decrypt", "write_keystores", "load_keystores"],
        "select": False,   # decryption runs in worker processes too, which the line trace does not see
        "tests": [U + "test_keystore_mutants.py", U + "test_keystore.py", U + "test_keystore_bounds_mutants.py"],
    },
    {
        "path": "plugins/module_utils/_exit.py",
        "functions": ["select_validators", "share_index_of", "normalize_partial", "verify_partial", "combine"],
        "tests": [U + "test_exit_mutants.py", U + "test_exit.py", M + "test_dv_exit.py"],
    },
    {"path": "plugins/modules/charon_enr.py", "refusals": True,
     "tests": [M + "test_charon_enr_mutants.py", M + "test_charon_enr.py"]},
    {"path": "plugins/modules/charon_backup.py", "refusals": True,
     "tests": [M + "test_charon_backup_mutants.py", M + "test_charon_backup.py",
               M + "test_charon_backup_more_mutants.py"]},
    {"path": "plugins/modules/charon_cluster_info.py", "refusals": True,
     "tests": [M + "test_charon_cluster_info_mutants.py", M + "test_charon_cluster_info.py",
               M + "test_charon_cluster_info_more_mutants.py"]},
    {"path": "plugins/modules/dv_exit.py", "refusals": True, "tests": [M + "test_dv_exit_mutants.py", M + "test_dv_exit.py"]},
]

# Shared test code whose digest is part of every cache key.
SHARED_TEST_FILES = ["tests/fixtures/cluster_factory.py", "tests/fixtures/dealer.py", "tests/mutation/plugin.py"]

# Seconds: a mutant run is killed (and counted as killed, "timeout") after
# max(MIN_TIMEOUT, TIMEOUT_FACTOR * the unmutated run of the same tests).
MIN_TIMEOUT = 60
TIMEOUT_FACTOR = 3
