# -*- coding: utf-8 -*-
"""The bugs the audit of issue 10 found passing the whole suite, written as exact patches.

``make mutation`` introduces each one (in a forked test process, never in the checkout), runs
the file's mapped tests and requires them to fail: the "check it by hand, then revert" of the
issue, kept as a regression check.  ``old`` must occur exactly once in the file.
"""

C, D, T, F = ("plugins/module_utils/_cluster.py", "plugins/module_utils/_dkg.py", "plugins/module_utils/_dkg_crypto.py",
              "plugins/module_utils/_files.py")
MOD = "plugins/modules/charon_dkg.py"
INFO = 'info = SHARE_LABEL + definition_hash + sender.to_bytes(2, "big") + recipient.to_bytes(2, "big")'
AAD = ('    return (SHARE_LABEL + definition_hash + sender.to_bytes(2, "big") + recipient.to_bytes(2, "big")\n'
       '            + validator.to_bytes(4, "big"))')
POK = 'data = (POK_LABEL + definition_hash + sender.to_bytes(2, "big") + validator.to_bytes(4, "big") + c0 + r_point)'

BUGS = [
    # Lock verification
    ("lock: a deposit re-signed for other withdrawal credentials is accepted", C,
     "if bytes(dd.withdrawal_credentials) != want_wc:", "if False:"),
    ("lock: one-validator batch without random weights", C,
     "if len(items) > 1 and self._check(items, True):", "if len(items) > 1 and self._check(items, False):"),
    ("lock: v1.2 lock with an empty aggregate signature accepted", C,
     "    if not sig:\n        if minor <= 1:", "    if not sig:\n        if minor <= 2:"),
    ("definition: threshold n + 1 passes", C,
     "    if not 1 <= d.threshold <= n:", "    if not 1 <= d.threshold <= n + 1:"),
    ("deposit file: above 32 ETH with 0x01 credentials passes", "plugins/module_utils/_deposit.py",
     'compounding=wc[:1] == b"\\x02"', "compounding=True"),
    # DKG
    ("dkg: proof of knowledge not bound to the sender", D, POK, POK.replace(' + sender.to_bytes(2, "big")', "")),
    ("dkg: proof of knowledge not bound to the definition hash", D, POK, POK.replace(" + definition_hash", "")),
    ("dkg: the message's definition hash not checked", D,
     'if body.get("definition_hash") != "0x" + params["definition_hash"].hex():', "if False:"),
    ("dkg: round-2 transcript check skipped", D,
     '    _check_transcripts(ordered, bytes.fromhex(state["transcript2"]), 2)\n', ""),
    ("dkg: finish does not verify the node signatures", D,
     'if not _k1.verify65(params["operators"][k - 1], sig, lock_hash):', "if False:"),
    ("dkg: finish does not verify the BLS lock signatures", D,
     "    if not verify(range(1, n + 1)):\n        for k in range(1, n + 1):\n            if not verify([k]):\n"
     "                raise DKGError(\"operator %d's BLS",
     "    if False:\n        for k in range(1, n + 1):\n            if not verify([k]):\n"
     "                raise DKGError(\"operator %d's BLS"),
    ("dkg: finish does not verify the assembled lock", MOD,
     '    if not report.valid:\n        raise Fail("the assembled lock', '    if False:\n        raise Fail("the assembled lock'),
    ("dkg: prepare accepts a different definition already on disk", MOD,
     'if bytes(getattr(have, "definition_hash", b"")) != d.definition_hash:', "if False:"),
    ("dkg: the final move replaces a file that appeared in the way", MOD,
     "    if in_way:\n", "    if False:\n"),
    # Share encryption
    ("shares: constant GCM nonce", T, 'return validator.to_bytes(12, "big")', "return bytes(12)"),
    ("shares: empty AAD", T, AAD, '    return b""'),
    ("shares: AAD without the label", T, AAD, AAD.replace("(SHARE_LABEL + ", "(")),
    ("shares: AAD without the definition hash", T, AAD, AAD.replace(" + definition_hash", "")),
    ("shares: AAD without the sender", T, AAD, AAD.replace(' + sender.to_bytes(2, "big")', "")),
    ("shares: AAD without the recipient", T, AAD, AAD.replace(' + recipient.to_bytes(2, "big")', "")),
    ("shares: AAD without the validator", T, AAD, AAD.replace('\n            + validator.to_bytes(4, "big")', "")),
    ("shares: HKDF info without the label", T, INFO, INFO.replace("SHARE_LABEL + ", "")),
    ("shares: HKDF info without the definition hash", T, INFO, INFO.replace(" + definition_hash", "")),
    ("shares: HKDF info without the sender", T, INFO, INFO.replace(' + sender.to_bytes(2, "big")', "")),
    ("shares: HKDF info without the recipient", T, INFO, INFO.replace(' + recipient.to_bytes(2, "big")', "")),
    # Files, keystores, exits
    ("files: the never-overwrite helper overwrites", F,
     "    if os.path.lexists(path):\n        raise RefuseOverwrite(\"%s already exists; it is never overwritten\" % path)\n"
     "    write_atomic(path, data, mode=mode, owner=owner, group=group, overwrite=False)",
     "    write_atomic(path, data, mode=mode, owner=owner, group=group, overwrite=True)"),
    ("files: the final link replaced by a rename (a file that appeared is overwritten)", F,
     "            try:\n                os.link(tmp, path)", "            try:\n                os.replace(tmp, path)\n"
     "                os.link(path, tmp)"),
    ("keystore: a declared pubkey other than the share's is loaded", "plugins/module_utils/_keystore.py",
     'if declared and declared.lower().replace("0x", "") != pubkey.hex():', "if False:"),
    ("exit: the combined signature not checked against the validator key", "plugins/module_utils/_exit.py",
     'if not _bls.verify(unhex(pubkey, 48, "pubkey"), root, signature):', "if False:"),
]
