# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""``enr_info``: decode an ENR the way charon parses it (documentation in enr_info.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.dvops.charon.plugins.module_utils import _deps, _enr


def enr_info(text):
    """Dict with seq, id, public_key, ip, tcp, udp, peer_id, peer_name, signature_valid."""
    try:
        return _enr.enr_info(text)
    except _enr.EnrError as exc:
        raise AnsibleFilterError("enr_info: not a valid ENR: %s" % exc)
    except _deps.MissingDependency as exc:
        # Filters run on the controller: the library is needed in ansible's own Python there.
        raise AnsibleFilterError("enr_info (runs on the controller): %s" % exc)


class FilterModule(object):

    def filters(self):
        return {"enr_info": enr_info}
