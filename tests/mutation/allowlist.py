# -*- coding: utf-8 -*-
"""Equivalent mutants: they cannot change behaviour, so no test can kill them.

Each entry is a mutant id as ``run.py --list`` prints it (file::function::operator::before ->
after#occurrence; no line number, so edits elsewhere do not invalidate it) with the reason it
is equivalent.  Keep this list short and honest: a mutant that *could* change behaviour
belongs in a test, not here.
"""

EQUIVALENT = {
    # Unreachable: both callers validate both keys first (_k1.public_key of the private key,
    # _k1.parse_public_key of the peer's), so coincurve's ECDH cannot fail here; without the raise
    # the same impossible failure would surface as UnboundLocalError instead.
    'plugins/module_utils/_dkg_crypto.py::_pair_key::raise-drop::raise TransportError("ECDH failed: %s" % exc) -> pass#0':
        "unreachable defensive branch",

    # Unreachable: after a failed random-weighted batch check, each sender is checked alone and
    # named.  The batch is a linear combination of the single equations, so when every single
    # check passes the batch passes too: the generic raise after that loop can never run.
    'plugins/module_utils/_dkg.py::round2::raise-drop::raise DKGError("the proofs of knowledge do not verify") -> pass#0':
        "batch fallback, unreachable",
    'plugins/module_utils/_dkg.py::round2::raise-drop::raise DKGError("the received shares do not verify") -> pass#0':
        "batch fallback, unreachable",
    'plugins/module_utils/_dkg.py::round3::raise-drop::raise DKGError("the partial signatures do not verify") -> pass#0':
        "batch fallback, unreachable",
    'plugins/module_utils/_dkg.py::finish::raise-drop::raise DKGError("the lock hash signatures do not verify") -> pass#0':
        "batch fallback, unreachable",

    # Unreachable: x is the sum of shares that passed the Feldman check against the same commitments
    # whose sum gives pub[index - 1] (linearity), so x*G equals it whenever this line is reached.
    'plugins/module_utils/_dkg.py::round2::if-false::(lib.G1Point() * _sc(x)).to_compressed_bytes() != pub[ind... -> False#0':
        "implied by the Feldman check",
    'plugins/module_utils/_dkg.py::round2::raise-drop::raise DKGError("this operator\'s key share of validator %d... -> pass#0':
        "implied by the Feldman check (the raise of the same unreachable branch)",

    # Report.record fails a check whenever problems are given, so record(name, False, [problem])
    # and record(name, True, [problem]) are the same call.
    "plugins/module_utils/_cluster.py::_verify_shares::const::False -> True#0": "Report.record semantics",
    "plugins/module_utils/_cluster.py::_verify_aggregate::const::False -> True#0": "Report.record semantics",
    "plugins/module_utils/_cluster.py::verify_lock::const::False -> True#0": "Report.record semantics",
    # The cache returns what decoding the same bytes again returns (decoding is deterministic and
    # the cached value is immutable): only the time differs.
    "plugins/module_utils/_cluster.py::_Bls.g1::if-false::data in self._g1 -> False#0": "cache of a pure function",
    # py_arkworks_bls12381's G2Point.from_compressed_bytes itself raises "expected a sequence of length 96"
    # for any other length, which g2 turns into None exactly like its own length check.
    "plugins/module_utils/_cluster.py::_Bls.g2::if-false::len(data) != 96 -> False#0": "the library checks the length",
    # Unreachable: _parse_definition's four callers pass a str (the type=str options definition, run
    # through AnsibleModule's conversion; _fetch's decode; existing_definitions entries checked for str
    # just before), so the type guard never fires; with any text the same parse runs.
    'plugins/modules/charon_dkg.py::_parse_definition::if-false::not isinstance(text, str) -> False#0':
        "unreachable type guard (callers pass str)",
    'plugins/modules/charon_dkg.py::_parse_definition::raise-drop::raise Fail("%s: expected the definition JSON text, got %s... -> pass#0':
        "unreachable type guard (callers pass str)",
    # An empty queue gives [] with or without the early return.
    "plugins/module_utils/_cluster.py::_Bls.run::if-false::not items -> False#0": "same result for []",
    # One signature checked with a random weight w: e(pk, w*H) == e(g, w*sig) is the same equation.
    "plugins/module_utils/_cluster.py::_Bls.run::const::False -> True#0": "weight of a single check",
    # A multi-scalar multiplication over no points is the identity: an empty batch passes either way.
    "plugins/module_utils/_cluster.py::_verify_shares::boolop-drop::batch and not combination(batch, True) -> "
    "(not combination(batch, True))#0": "empty batch",
}
