# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""A small client for the Ethereum beacon-node API, as a validator client uses it.

Only the endpoints the exit journey needs: genesis, validator lookup, the voluntary-exit pool.
charon's validator API (port 3600) serves the same paths, so the client works against both.
HTTP goes through ``ansible.module_utils.urls.open_url`` (proxies, CA bundles, validate_certs).
Every error names the method, the URL and the HTTP status, and carries the node's message.
"""

from __future__ import annotations

import json

from urllib.error import HTTPError, URLError
from urllib.parse import quote

from ansible.module_utils.urls import open_url

# A GET URL with hundreds of 98-character pubkeys gets too long for some servers.
LOOKUP_CHUNK = 64


class BeaconError(Exception):
    """A beacon API call failed; the message names the URL and the status."""

    def __init__(self, message, url=None, status=None, body=None):
        super(BeaconError, self).__init__(message)
        self.url = url
        self.status = status
        self.body = body


def _node_message(body):
    """The ``message`` of a beacon-API error body ({"code":..., "message":...}), else the raw text."""
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body or "")
    try:
        doc = json.loads(text)
    except ValueError:
        return text.strip()[:500]
    if isinstance(doc, dict) and doc.get("message"):
        msg = str(doc["message"])
        failures = doc.get("failures")
        if failures:
            msg += " (failures: %s)" % json.dumps(failures, sort_keys=True)
        return msg
    return text.strip()[:500]


class BeaconClient(object):
    """Beacon-node API at ``base_url`` (e.g. http://localhost:5052 or charon's http://localhost:3600)."""

    def __init__(self, base_url, timeout=30, validate_certs=True, headers=None, opener=None):
        if not base_url or "://" not in base_url:
            raise BeaconError("beacon API URL %r is not an http(s) URL" % (base_url,))
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.headers = dict(headers or {})
        self._open = opener or open_url  # tests may inject a fake opener

    def url(self, path):
        return self.base_url + path

    def request(self, method, path, body=None, ok_statuses=(200,)):
        """Send a request; return (status, parsed JSON or None).  Raises BeaconError."""
        url = self.url(path)
        headers = {"Accept": "application/json"}
        headers.update(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            resp = self._open(url, data=data, method=method, headers=headers, timeout=self.timeout,
                              validate_certs=self.validate_certs, follow_redirects="safe")
            status = resp.getcode() if hasattr(resp, "getcode") else getattr(resp, "status", 200)
            raw = resp.read()
        except HTTPError as exc:
            raw = b""
            try:
                raw = exc.read() or b""
            except Exception:  # pylint: disable=broad-except
                pass
            if exc.code in ok_statuses:
                return exc.code, _parse(raw, method, url)
            raise BeaconError("%s %s: HTTP %d: %s" % (method, url, exc.code, _node_message(raw) or exc.reason),
                              url=url, status=exc.code, body=raw)
        except URLError as exc:
            raise BeaconError("%s %s: cannot connect: %s" % (method, url, getattr(exc, "reason", exc)), url=url)
        except (OSError, ValueError) as exc:  # timeouts, resets, bad URLs
            raise BeaconError("%s %s: %s" % (method, url, exc), url=url)
        if status not in ok_statuses:
            raise BeaconError("%s %s: HTTP %s: %s" % (method, url, status, _node_message(raw)),
                              url=url, status=status, body=raw)
        return status, _parse(raw, method, url)

    # Endpoints -----------------------------------------------------------------------------

    def genesis(self):
        """GET /eth/v1/beacon/genesis -> {genesis_time, genesis_validators_root, genesis_fork_version}."""
        path = "/eth/v1/beacon/genesis"
        doc = self.request("GET", path)[1]
        data = _data(doc, "GET", self.url(path))
        for field in ("genesis_validators_root", "genesis_fork_version"):
            if not isinstance(data, dict) or not isinstance(data.get(field), str):
                raise BeaconError("GET %s: the answer has no %s" % (self.url(path), field), url=self.url(path))
        return data

    def validators(self, ids, state="head"):
        """GET /eth/v1/beacon/states/<state>/validators?id=... -> list of {index, status, validator{pubkey...}}.

        ``ids`` are 0x-hex pubkeys and/or decimal indices.  Unknown ids are simply absent from the
        answer (a 404 "no validators" from some clients counts as none found).
        """
        ids = [str(i) for i in ids]
        found = []
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start:start + LOOKUP_CHUNK]
            path = "/eth/v1/beacon/states/%s/validators?id=%s" % (quote(state, safe=""), ",".join(quote(i, safe="") for i in chunk))
            status, doc = self.request("GET", path, ok_statuses=(200, 404))
            if status == 404:
                continue
            data = _data(doc, "GET", self.url(path))
            if not isinstance(data, list):
                raise BeaconError("GET %s: 'data' is not a list" % self.url(path), url=self.url(path))
            for entry in data:
                found.append(_validator_entry(entry, self.url(path)))
        return found

    def voluntary_exit_pool(self):
        """GET /eth/v1/beacon/pool/voluntary_exits -> list of SignedVoluntaryExit JSON objects."""
        path = "/eth/v1/beacon/pool/voluntary_exits"
        doc = self.request("GET", path)[1]
        data = _data(doc, "GET", self.url(path))
        return data if isinstance(data, list) else []

    def submit_voluntary_exit(self, signed_exit):
        """POST /eth/v1/beacon/pool/voluntary_exits with a SignedVoluntaryExit JSON; returns the answer.

        The answer is {"url", "status", "body"}: the beacon API answers 200 with an empty body.
        """
        path = "/eth/v1/beacon/pool/voluntary_exits"
        status, doc = self.request("POST", path, body=signed_exit)
        return {"url": self.url(path), "status": status, "body": doc}


def _parse(raw, method, url):
    if not raw or not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw)
    except ValueError as exc:
        raise BeaconError("%s %s: the answer is not JSON (%s)" % (method, url, exc), url=url, body=raw)


def _data(doc, method, url):
    if not isinstance(doc, dict) or "data" not in doc:
        raise BeaconError("%s %s: the answer has no 'data'" % (method, url), url=url)
    return doc["data"]


def _validator_entry(entry, url):
    try:
        return {
            "index": int(entry["index"]),
            "status": str(entry["status"]),
            "pubkey": str(entry["validator"]["pubkey"]).lower(),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise BeaconError("GET %s: malformed validator entry (%s)" % (url, exc), url=url)
