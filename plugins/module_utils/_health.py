# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Cluster health from charon's monitoring API (``/readyz`` and ``/metrics``), pure Python.

What charon v1.10.3 exposes (read from its source, ``app/monitoringapi.go``, ``app/metrics.go``,
``app/health/``, ``p2p/metrics.go``, ``core/scheduler/metrics.go``, ``core/validatorapi/metrics.go``):

- ``GET /readyz``: 200 ``ok``, or 500 with one error text, checked once a slot in this order:
  beacon node down, beacon node not synced, beacon node has zero peers, beacon node far behind
  (> 320 slots), quorum peers not connected (6 slots in a row), vc not connected (no validator
  API call in the previous epoch). Before the first slot: ``ready check uninitialised``.
- ``app_monitoring_readyz``: the same as a number (1 ready, 2 bn down, 3 bn syncing,
  4 insufficient peers, 5 vc not connected, 7 bn zero peers, 8 bn far behind; 0 = not set yet).
- ``app_health_checks{severity,name,description}``: 1 failing, 0 ok (evaluated every 30 s).
- ``p2p_ping_success{peer}`` per other operator, ``cluster_threshold``, ``cluster_operators``,
  ``cluster_validators``, ``core_scheduler_validators_active``, ``app_beacon_node_peers``,
  ``core_validatorapi_vc_user_agent{user_agent}``, ``app_peerinfo_version_support{peer}``,
  and the constant labels charon adds to every series (``cluster_name``, ``cluster_hash``,
  ``cluster_network``, ``cluster_peer``, ``charon_version``, ``nickname``).
"""

from __future__ import annotations

import math
import re

from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import open_url

# /readyz body -> short reason code (app/monitoringapi.go errReady*).
READYZ_REASONS = {
    "ok": "ready",
    "ready check uninitialised": "uninitialised",
    "quorum peers not connected": "insufficient_peers",
    "beacon node down": "beacon_node_down",
    "beacon node far behind": "beacon_node_far_behind",
    "beacon node not synced": "beacon_node_syncing",
    "beacon node has zero peers": "beacon_node_zero_peers",
    "vc not connected": "vc_not_connected",
}

# app_monitoring_readyz value -> reason code (app/metrics.go readyz*; 6 is deprecated upstream).
READYZ_GAUGE = {
    0: "uninitialised",
    1: "ready",
    2: "beacon_node_down",
    3: "beacon_node_syncing",
    4: "insufficient_peers",
    5: "vc_not_connected",
    6: "vc_missing_validators",
    7: "beacon_node_zero_peers",
    8: "beacon_node_far_behind",
}

# Beacon node state implied by the readyz gauge. charon checks the beacon node first, so any
# later outcome (ready, peers, vc) means the beacon node passed (synced, close to head).
_BN_STATE = {
    1: "synced",
    2: "down",
    3: "syncing",
    4: "synced",
    5: "synced",
    6: "synced",
    7: "zero_peers",
    8: "far_behind",
}

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}

_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class HealthError(Exception):
    """Input that is not what charon's monitoring API serves."""


def parse_prometheus_text(text):
    """Samples of a Prometheus text exposition: a list of ``(name, labels, value)``.

    Label values are unescaped (``\\\\``, ``\\"``, ``\\n``); charon's health check descriptions
    carry newlines and tabs. Comments, blank lines and sample timestamps are skipped.
    """
    samples = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _NAME_RE.match(line)
        if not match:
            raise HealthError("metrics line %d: no metric name: %r" % (lineno, line[:80]))
        name = match.group(0)
        pos = match.end()
        labels = {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = _parse_labels(line, pos + 1, lineno)
        rest = line[pos:].split()
        if not rest:
            raise HealthError("metrics line %d: %s has no value" % (lineno, name))
        try:
            value = float(rest[0])
        except ValueError:
            raise HealthError("metrics line %d: %s has value %r, not a number" % (lineno, name, rest[0]))
        samples.append((name, labels, value))
    return samples


def _parse_labels(line, pos, lineno):
    labels = {}
    while True:
        while pos < len(line) and line[pos] in " ,":
            pos += 1
        if pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        match = _LABEL_RE.match(line, pos)
        if not match or match.end() + 1 >= len(line) or line[match.end()] != "=" or line[match.end() + 1] != '"':
            raise HealthError("metrics line %d: bad label at column %d" % (lineno, pos + 1))
        key = match.group(0)
        pos = match.end() + 2
        chars = []
        while True:
            if pos >= len(line):
                raise HealthError("metrics line %d: unterminated value of label %s" % (lineno, key))
            char = line[pos]
            if char == "\\" and pos + 1 < len(line):
                nxt = line[pos + 1]
                chars.append({"n": "\n", "\\": "\\", '"': '"'}.get(nxt, "\\" + nxt))
                pos += 2
            elif char == '"':
                pos += 1
                break
            else:
                chars.append(char)
                pos += 1
        labels[key] = "".join(chars)


def readyz_reason(status, body):
    """Short reason code of a /readyz answer (``unknown:<text>`` for a text charon v1.10 never sends)."""
    text = (body or "").strip()
    if status == 200 and text == "ok":
        return "ready"
    if text in READYZ_REASONS and text != "ok":
        return READYZ_REASONS[text]
    return "unknown:%s" % (text[:80] or "HTTP %s" % status)


def _series(samples, name):
    return [(labels, value) for (metric, labels, value) in samples if metric == name]


def _single(samples, name):
    values = [value for _labels, value in _series(samples, name) if not math.isnan(value)]
    if not values:
        return None
    return values[0]


def _int_or_none(value):
    return None if value is None else int(value)


def summarize_node(readyz_status, readyz_body, metrics_text):
    """One node's health from its /readyz answer and /metrics text (both as charon served them).

    ``readyz_status`` is the HTTP status (int); ``metrics_text`` may be None when /metrics failed.
    """
    reason = readyz_reason(readyz_status, readyz_body)
    node = {
        "reachable": True,
        "error": None,
        "ready": reason == "ready",
        "reason": reason,
        "readyz": {"status": readyz_status, "body": (readyz_body or "").strip()},
        "readyz_gauge": None,
        "peer_name": None,
        "nickname": None,
        "charon_version": None,
        "cluster_name": None,
        "cluster_hash": None,
        "network": None,
        "threshold": None,
        "operators": None,
        "failing_checks": [],
        "peers": {"connected": None, "total": None, "required": None, "not_connected": []},
        "incompatible_peers": [],
        "beacon_node": {"state": "unknown", "peers": None},
        "validator_client": {"connected": None, "user_agents": []},
        "validators": {"active": None, "total": None},
        "builder_api": {},
    }
    if metrics_text is None:
        return node
    samples = parse_prometheus_text(metrics_text)
    if not samples:
        raise HealthError("/metrics returned no samples")

    # charon adds its identity as constant labels to every series.
    const = samples[0][1]
    node["peer_name"] = const.get("cluster_peer")
    node["nickname"] = const.get("nickname")
    node["charon_version"] = const.get("charon_version")
    node["cluster_name"] = const.get("cluster_name")
    node["cluster_hash"] = const.get("cluster_hash")
    node["network"] = const.get("cluster_network")

    gauge = _int_or_none(_single(samples, "app_monitoring_readyz"))
    if gauge is not None:
        node["readyz_gauge"] = {"value": gauge, "reason": READYZ_GAUGE.get(gauge, "unknown:%d" % gauge)}
    node["threshold"] = _int_or_none(_single(samples, "cluster_threshold"))
    node["operators"] = _int_or_none(_single(samples, "cluster_operators"))

    failing = [{"name": labels.get("name", "?"), "severity": labels.get("severity", "?")}
               for labels, value in _series(samples, "app_health_checks") if value >= 1]
    node["failing_checks"] = sorted(failing, key=lambda c: (SEVERITY_ORDER.get(c["severity"], 9), c["name"]))

    pings = {labels.get("peer", "?"): value for labels, value in _series(samples, "p2p_ping_success")}
    total = (node["operators"] - 1) if node["operators"] else len(pings)
    node["peers"] = {
        "connected": sum(1 for value in pings.values() if value >= 1),
        "total": total,
        # Quorum includes this node: charon needs threshold - 1 others (quorumPeersConnected).
        "required": (node["threshold"] - 1) if node["threshold"] else None,
        "not_connected": sorted(peer for peer, value in pings.items() if value < 1),
    }
    node["incompatible_peers"] = sorted(
        labels.get("peer", "?") for labels, value in _series(samples, "app_peerinfo_version_support") if value < 1)

    bn_peers = _int_or_none(_single(samples, "app_beacon_node_peers"))
    node["beacon_node"] = {"state": _BN_STATE.get(gauge, "unknown"), "peers": bn_peers}

    agents = sorted(labels.get("user_agent", "") for labels, value in
                    _series(samples, "core_validatorapi_vc_user_agent") if value >= 1)
    # charon only evaluates the VC once the beacon node and peers pass: otherwise it is unknown.
    connected = {1: True, 5: False}.get(gauge)
    node["validator_client"] = {"connected": connected, "user_agents": agents}
    # What each peer (this node included) says about its --builder-api (peerinfo protocol).
    node["builder_api"] = dict((labels.get("peer", "?"), value >= 1) for labels, value in
                               _series(samples, "app_peerinfo_builder_api_enabled"))
    node["validators"] = {
        "active": _int_or_none(_single(samples, "core_scheduler_validators_active")),
        "total": _int_or_none(_single(samples, "cluster_validators")),
    }
    return node


def unreachable_node(error):
    """A node whose monitoring API did not answer."""
    node = summarize_node(None, "", None)
    node.update({"reachable": False, "error": error, "ready": False, "reason": "unreachable"})
    return node


def parse_wget_output(stderr):
    """HTTP status from ``wget -S`` (server headers on stderr); the last status line wins."""
    status = None
    for line in (stderr or "").splitlines():
        match = re.match(r"\s*HTTP/\d(?:\.\d)?\s+(\d{3})", line)
        if match:
            status = int(match.group(1))
    return status


def wget_command(url, timeout):
    """The fetch run inside charon's container (charon's image ships GNU wget, its healthcheck uses it).

    ``--content-on-error`` keeps /readyz's 500 body (the reason); ``-S`` prints the status to stderr.
    """
    return ["wget", "-q", "-S", "--content-on-error", "-T", str(int(timeout)), "-t", "1", "-O", "-", url]


class Fetcher(object):
    """GET a path of charon's monitoring API: over HTTP from the host, or inside charon's container.

    ``exec_command`` (e.g. ``docker compose --project-directory /opt/charon exec -T charon``) runs
    wget inside the container, because charon's monitoring port is not published on the host.
    ``run`` is the module's ``run_command``; ``opener`` replaces ``open_url`` (tests).
    Each call returns ``(status, text)``; a failure to connect raises HealthError.
    """

    def __init__(self, base_url, timeout=5, exec_command=None, run=None, opener=None):
        if not re.match(r"^https?://[^/\s]+", base_url or ""):
            raise HealthError("monitoring_url %r is not an http(s) URL" % (base_url,))
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.exec_command = list(exec_command or [])
        self.run = run
        self.opener = opener or open_url

    def get(self, path):
        url = self.base_url + path
        if self.exec_command:
            return self._get_exec(url)
        return self._get_http(url)

    def _get_http(self, url):
        try:
            resp = self.opener(url, method="GET", timeout=self.timeout, follow_redirects="none")
            status = resp.getcode() if hasattr(resp, "getcode") else getattr(resp, "status", 200)
            raw = resp.read()
        except HTTPError as exc:
            # /readyz answers 500 with the reason in the body.
            status = exc.code
            try:
                raw = exc.read() or b""
            except Exception:  # pylint: disable=broad-except
                raw = b""
        except URLError as exc:
            raise HealthError("GET %s: %s" % (url, getattr(exc, "reason", exc)))
        except (OSError, ValueError) as exc:  # timeouts, resets
            raise HealthError("GET %s: %s" % (url, exc))
        return status, raw.decode("utf-8", "replace")

    def _get_exec(self, url):
        cmd = self.exec_command + wget_command(url, self.timeout)
        try:
            rc, out, err = self.run(cmd)
        except (OSError, ValueError) as exc:
            raise HealthError("%s: %s" % (" ".join(self.exec_command), exc))
        status = parse_wget_output(err)
        if status is None:
            # wget exits 4 on a network failure; compose/docker print their own error.
            tail = (err or out or "").strip().splitlines()
            raise HealthError("GET %s via `%s`: rc=%s %s" % (url, " ".join(self.exec_command), rc,
                                                             tail[-1] if tail else "no output"))
        return status, out


def probe(fetcher):
    """A node's health through ``fetcher`` (see Fetcher); unreachable nodes are reported, not raised."""
    try:
        status, body = fetcher.get("/readyz")
    except HealthError as exc:
        return unreachable_node(str(exc))
    metrics_status, metrics = None, None
    error = None
    try:
        metrics_status, metrics = fetcher.get("/metrics")
    except HealthError as exc:
        error = str(exc)
    if metrics_status is not None and metrics_status != 200:
        error = "GET /metrics: HTTP %s" % metrics_status
        metrics = None
    try:
        node = summarize_node(status, body, metrics)
    except HealthError as exc:
        node = summarize_node(status, body, None)
        error = "GET /metrics: %s" % exc
    node["error"] = error
    return node


def why(node):
    """One line saying why a node is not ready."""
    if not node.get("reachable", True):
        return "monitoring API unreachable (%s)" % (node.get("error") or "no answer")
    body = node.get("readyz", {}).get("body") or node.get("reason")
    text = "readyz: %s" % body
    failing = [c["name"] for c in node.get("failing_checks", []) if c.get("severity") == "critical"]
    if failing:
        text += "; critical checks failing: %s" % ", ".join(failing)
    return text


def _cell_peers(node):
    peers = node.get("peers") or {}
    if peers.get("connected") is None:
        return "-"
    return "%s/%s" % (peers["connected"], peers["total"] if peers.get("total") is not None else "?")


def _cell_vc(node):
    connected = (node.get("validator_client") or {}).get("connected")
    return {True: "yes", False: "no", None: "?"}[connected]


def _cell_validators(node):
    vals = node.get("validators") or {}
    if vals.get("active") is None:
        return "-"
    return "%s/%s" % (vals["active"], vals["total"] if vals.get("total") is not None else "?")


def _cell_checks(node):
    checks = node.get("failing_checks") or []
    if not checks:
        return "-"
    return ", ".join("%s:%s" % (c["severity"], c["name"]) for c in checks)


COLUMNS = ("node", "ready", "readyz", "peers", "beacon node", "vc", "validators", "failing checks")


def table_lines(hosts, nodes):
    """The cluster table, one line per node (fixed-width columns)."""
    rows = []
    for host in hosts:
        node = nodes[host]
        if not node.get("reachable", True):
            readyz = "unreachable"
        else:
            readyz = node.get("readyz", {}).get("body") or node.get("reason")
        rows.append((
            host,
            "yes" if node.get("ready") else "NO",
            readyz,
            _cell_peers(node),
            (node.get("beacon_node") or {}).get("state", "unknown") if node.get("reachable", True) else "-",
            _cell_vc(node) if node.get("reachable", True) else "-",
            _cell_validators(node),
            _cell_checks(node),
        ))
    widths = [max(len(str(r[i])) for r in rows + [COLUMNS]) for i in range(len(COLUMNS))]
    fmt = "  ".join("%%-%ds" % w for w in widths[:-1]) + "  %s"
    return [fmt % tuple(c.upper() for c in COLUMNS)] + [fmt % row for row in rows]


def cluster_report(hosts, nodes, min_ready=None):
    """The whole cluster: ready count, threshold, verdict, table and per-node details.

    ``nodes`` maps every host of ``hosts`` to its node dict; a host missing from it counts as
    not answering (Ansible could not reach it). ``min_ready`` None means the cluster's own
    threshold as charon reports it (``cluster_threshold``), else ceil(2n/3) like charon's.
    """
    hosts = list(hosts)
    if not hosts:
        raise HealthError("no hosts to report on")
    nodes = dict((h, nodes.get(h) or unreachable_node("host not reached by Ansible")) for h in hosts)
    thresholds = sorted(set(n["threshold"] for n in nodes.values() if n.get("threshold")))
    source = "setting"
    if min_ready is None:
        if thresholds:
            min_ready = max(thresholds)
            source = "cluster threshold"
        else:
            min_ready = int(math.ceil(2.0 * len(hosts) / 3))
            source = "ceil(2n/3), no node reported its threshold"
    min_ready = int(min_ready)
    if min_ready < 1:
        raise HealthError("min_ready must be at least 1, not %d" % min_ready)
    ready = [h for h in hosts if nodes[h].get("ready")]
    not_ready = [{"host": h, "why": why(nodes[h])} for h in hosts if not nodes[h].get("ready")]
    ok = len(ready) >= min_ready
    summary = "%d/%d nodes ready (%d needed, %s)" % (len(ready), len(hosts), min_ready, source)
    if not_ready:
        details = "; ".join("%s: %s" % (n["host"], n["why"]) for n in not_ready)
        message = "%s. Not ready: %s" % (summary, details)
    else:
        message = summary
    warnings = []
    builder = {}
    for node in nodes.values():
        builder.update(node.get("builder_api") or {})
    if len(set(builder.values())) > 1:
        # Mixed builder modes: the peers cannot agree on proposals (blinded vs full blocks).
        warnings.append("peers disagree on the builder API: on for %s, off for %s" % (
            ", ".join(sorted(p for p, on in builder.items() if on)),
            ", ".join(sorted(p for p, on in builder.items() if not on))))
    names = sorted(set(n["cluster_name"] for n in nodes.values() if n.get("cluster_name")))
    hashes = sorted(set(n["cluster_hash"] for n in nodes.values() if n.get("cluster_hash")))
    lines = table_lines(hosts, nodes)
    return {
        "ok": ok,
        "ready": len(ready),
        "total": len(hosts),
        "min_ready": min_ready,
        "min_ready_source": source,
        "cluster_names": names,
        "cluster_hashes": hashes,
        "ready_hosts": ready,
        "not_ready": not_ready,
        "summary": summary,
        "message": message,
        "warnings": warnings,
        "table": "\n".join([summary] + lines + ["WARNING: %s" % w for w in warnings]),
        "nodes": dict((h, dict(nodes[h], host=h)) for h in hosts),
    }
