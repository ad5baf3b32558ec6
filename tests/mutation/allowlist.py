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
}
