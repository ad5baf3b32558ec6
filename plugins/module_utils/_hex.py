# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Fixed-size byte strings from hex text: the one parser behind ``_networks`` and ``_exit``.

It stands at the bottom of the import graph (no imports): each caller passes its own exception
type, so that its errors keep their module's type and wording.
"""

from __future__ import annotations


def fixed_bytes(value, size, field, error, what=None):
    """``size`` bytes from ``bytes`` or ``"0x…"``/bare hex text of either case.

    Raises ``error`` naming ``field``: ``"<field>: <value> is not hex"``; for a wrong length
    ``"<field>: <what> is <size> bytes, got <n>"``, or ``"<field>: expected <size> bytes, got <n>"``
    without ``what``.
    """
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    else:
        text = str(value).strip()
        if text[:2] in ("0x", "0X"):
            text = text[2:]
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise error("%s: %r is not hex" % (field, value))
    if len(raw) != size:
        if what is None:
            raise error("%s: expected %d bytes, got %d" % (field, size, len(raw)))
        raise error("%s: %s is %d bytes, got %d" % (field, what, size, len(raw)))
    return raw
