# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""The one Go-compatible JSON writer, for every file charon reads (definitions, locks, keystores,
deposit data).  It stands at the bottom of the import graph so that ``_keystore`` and
``_deposit`` do not depend on ``_cluster`` for it; ``_cluster.go_json`` is the same function.
"""

from __future__ import annotations

import json


def go_json(obj):
    """Go ``json.MarshalIndent(obj, "", " ")`` bytes (no trailing newline, HTML escaping)."""
    s = json.dumps(obj, indent=1, ensure_ascii=False)
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                 ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        s = s.replace(a, b)
    return s.encode("utf-8")
