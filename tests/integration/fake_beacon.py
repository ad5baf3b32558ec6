# -*- coding: utf-8 -*-
"""A FAKE beacon node and FAKE charon validator APIs for the exit tests (not real nodes).

FakeChain holds what a beacon node would know: genesis, validators (index, status), the
voluntary-exit pool.  It accepts a full exit only if it verifies under the validator's key, and
then marks the validator ``active_exiting`` at once (a real chain would take epochs).

FakeBeaconNode serves the beacon API over that chain:
  GET  /eth/v1/beacon/genesis
  GET  /eth/v1/beacon/states/head/validators?id=<pubkeys or indices, comma separated>
  POST /eth/v1/beacon/states/head/validators          ({"ids": [...], "statuses": [...]}, as go-eth2-client asks)
  GET  /eth/v1/beacon/pool/voluntary_exits
  POST /eth/v1/beacon/pool/voluntary_exits            (SignedVoluntaryExit JSON)
  GET  /eth/v1/node/version, /eth/v1/node/syncing, /eth/v1/config/spec, /eth/v1/config/fork_schedule
       (what the real ``charon exit broadcast`` asks before it verifies and submits an exit)

FakeCharon plays one node's charon validator API (port 3600): the same paths, but it knows the
validators by this node's public shares (as charon does for a validator client), verifies a
posted exit as a *partial* signature against this node's public share, counts it, stores it in a
cluster-wide FakeParSigDB (standing in for charon's peer exchange), and once a threshold of
shares is there combines them and submits the full exit to the chain.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ansible_collections.dvops.charon.plugins.module_utils import _bls, _eth2

POOL = "/eth/v1/beacon/pool/voluntary_exits"
GENESIS = "/eth/v1/beacon/genesis"
VALIDATORS = "/eth/v1/beacon/states/head/validators"
# Only what charon exit broadcast (go-eth2-client) reads: the exit domain type and the slot timing.
SPEC = {
    "DOMAIN_VOLUNTARY_EXIT": "0x04000000",
    "SLOTS_PER_EPOCH": "32",
    "SECONDS_PER_SLOT": "12",
}


def _hex(b):
    return "0x" + bytes(b).hex()


class FakeChain(object):
    """State of the fake beacon chain."""

    def __init__(self, genesis_fork_version, capella_fork_version, genesis_validators_root):
        self.genesis_fork_version = bytes(genesis_fork_version)
        self.capella_fork_version = bytes(capella_fork_version)
        self.genesis_validators_root = bytes(genesis_validators_root)
        self.validators = {}  # index -> {"pubkey": 0x.., "status": ...}
        self.pool = []
        self.broadcasts = []  # every accepted full exit
        self.rejected = []
        self.lock = threading.Lock()

    def add_validator(self, index, pubkey, status="active_ongoing"):
        self.validators[int(index)] = {"pubkey": _hex(pubkey), "status": status}

    def index_of(self, pubkey_hex):
        for index, v in self.validators.items():
            if v["pubkey"] == pubkey_hex.lower():
                return index
        return None

    def signing_root(self, epoch, index):
        return _eth2.voluntary_exit_signing_root(int(epoch), int(index), self.capella_fork_version,
                                                 self.genesis_validators_root)

    def submit_full_exit(self, signed):
        """(status, body) as a beacon node answers POST pool/voluntary_exits."""
        try:
            epoch = int(signed["message"]["epoch"])
            index = int(signed["message"]["validator_index"])
            sig = bytes.fromhex(signed["signature"][2:])
        except (KeyError, TypeError, ValueError) as exc:
            return 400, {"code": 400, "message": "fake beacon node: malformed SignedVoluntaryExit: %s" % exc}
        with self.lock:
            v = self.validators.get(index)
            if v is None:
                return 400, {"code": 400, "message": "fake beacon node: unknown validator index %d" % index}
            if not _bls.verify(bytes.fromhex(v["pubkey"][2:]), self.signing_root(epoch, index), sig):
                self.rejected.append(signed)
                return 400, {"code": 400, "message": "fake beacon node: invalid voluntary exit signature"}
            if v["status"] != "active_ongoing":
                return 400, {"code": 400, "message": "fake beacon node: validator %d is %s" % (index, v["status"])}
            self.pool.append(signed)
            self.broadcasts.append(signed)
            v["status"] = "active_exiting"  # the fake processes the exit at once
        return 200, None

    def lookup(self, ids, to_id=None):
        out = []
        for index, v in sorted(self.validators.items()):
            if str(index) in ids or v["pubkey"] in ids:
                far = str(2 ** 64 - 1)  # FAR_FUTURE_EPOCH
                out.append({"index": str(index), "balance": "32000000000", "status": v["status"],
                            "validator": {"pubkey": v["pubkey"], "withdrawal_credentials": "0x" + "01" + "00" * 31,
                                          "effective_balance": "32000000000", "slashed": False,
                                          "activation_eligibility_epoch": "0", "activation_epoch": "0",
                                          "exit_epoch": far, "withdrawable_epoch": far}})
        return out


class FakeParSigDB(object):
    """Partial exits the fake charon nodes have seen, as if exchanged between peers."""

    def __init__(self, threshold, public_shares):
        self.threshold = threshold
        self.public_shares = public_shares  # DV 0x pubkey -> [share pubkeys in operator order]
        self.partials = {}  # (dv, epoch, index) -> {share_index: sig}
        self.received = []  # (share_index, dv, validator_index) per accepted post
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    app = None

    def log_message(self, *args):
        pass

    def _send(self, status, doc):
        raw = b"" if doc is None else json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):  # noqa: N802
        self._send(*self.app.get(urlsplit(self.path)))

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return self._send(400, {"code": 400, "message": "fake: body is not JSON"})
        self._send(*self.app.post(urlsplit(self.path), body))


class _Server(object):
    """One HTTP server in a daemon thread."""

    def __init__(self):
        handler = type("Handler", (_Handler,), {"app": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.requests = []

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeBeaconNode(_Server):
    def __init__(self, chain):
        self.chain = chain
        super(FakeBeaconNode, self).__init__()

    def genesis(self):
        c = self.chain
        return 200, {"data": {"genesis_time": "1742213400", "genesis_validators_root": _hex(c.genesis_validators_root),
                              "genesis_fork_version": _hex(c.genesis_fork_version)}}

    def get(self, url):
        self.requests.append(("GET", url.path))
        c = self.chain
        if url.path == GENESIS:
            return self.genesis()
        if url.path == VALIDATORS:
            ids = ",".join(parse_qs(url.query).get("id", [""])).lower().split(",")
            return 200, {"execution_optimistic": False, "finalized": False, "data": self.chain.lookup(ids)}
        if url.path == POOL:
            return 200, {"data": list(self.chain.pool)}
        if url.path == "/eth/v1/node/version":
            return 200, {"data": {"version": "FAKE/dvops-fake-beacon-node"}}
        if url.path == "/eth/v1/node/syncing":
            return 200, {"data": {"head_slot": "1000", "sync_distance": "0", "is_syncing": False,
                                  "is_optimistic": False, "el_offline": False}}
        if url.path == "/eth/v1/config/spec":
            spec = dict(SPEC, GENESIS_FORK_VERSION=_hex(c.genesis_fork_version),
                        CAPELLA_FORK_VERSION=_hex(c.capella_fork_version))
            return 200, {"data": spec}
        if url.path == "/eth/v1/config/fork_schedule":
            return 200, {"data": [
                {"previous_version": _hex(c.genesis_fork_version), "current_version": _hex(c.genesis_fork_version),
                 "epoch": "0"},
                {"previous_version": _hex(c.genesis_fork_version), "current_version": _hex(c.capella_fork_version),
                 "epoch": "0"}]}
        return 404, {"code": 404, "message": "fake beacon node: no route %s" % url.path}

    def post(self, url, body):
        self.requests.append(("POST", url.path))
        if url.path == POOL:
            return self.chain.submit_full_exit(body)
        if url.path == VALIDATORS:
            # go-eth2-client: {"ids": [pubkeys or indices], "statuses": [...]} (statuses filter; none = all)
            ids = [str(i).lower() for i in (body or {}).get("ids") or []]
            statuses = set((body or {}).get("statuses") or [])
            data = [e for e in self.chain.lookup(ids) if not statuses or e["status"] in statuses]
            return 200, {"execution_optimistic": False, "finalized": False, "data": data}
        return 404, {"code": 404, "message": "fake beacon node: no route %s" % url.path}


class FakeCharon(FakeBeaconNode):
    """One node's fake charon validator API (share index 1..n)."""

    def __init__(self, chain, parsigdb, share_index):
        self.parsigdb = parsigdb
        self.share_index = share_index
        self.to_dv = dict((shares[share_index - 1], dv) for dv, shares in parsigdb.public_shares.items())
        self.posted = []  # partial exits accepted from this node's "validator client"
        super(FakeCharon, self).__init__(chain)

    def get(self, url):
        if url.path != VALIDATORS:
            return super(FakeCharon, self).get(url)
        self.requests.append(("GET", url.path))
        ids = ",".join(parse_qs(url.query).get("id", [""])).lower().split(",")
        # charon: the validator client asks by public share; answer with the share, not the DV key.
        wanted = [self.to_dv.get(i, i) for i in ids]
        data = self.chain.lookup(wanted)
        from_dv = dict((dv, share) for share, dv in self.to_dv.items())
        for entry in data:
            entry["validator"]["pubkey"] = from_dv.get(entry["validator"]["pubkey"], entry["validator"]["pubkey"])
        return 200, {"data": data}

    def post(self, url, body):
        if url.path != POOL:
            return super(FakeCharon, self).post(url, body)
        self.requests.append(("POST", url.path))
        db, chain = self.parsigdb, self.chain
        try:
            epoch = int(body["message"]["epoch"])
            index = int(body["message"]["validator_index"])
            sig = bytes.fromhex(body["signature"][2:])
        except (KeyError, TypeError, ValueError) as exc:
            return 400, {"code": 400, "message": "fake charon: malformed exit: %s" % exc}
        v = chain.validators.get(index)
        if v is None or v["pubkey"] not in db.public_shares:
            return 400, {"code": 400, "message": "fake charon: validator %d is not in the cluster" % index}
        dv = v["pubkey"]
        share = db.public_shares[dv][self.share_index - 1]
        if not _bls.verify(bytes.fromhex(share[2:]), chain.signing_root(epoch, index), sig):
            return 400, {"code": 400, "message": "fake charon: partial signature does not verify against public share %d"
                         % self.share_index}
        with db.lock:
            self.posted.append(body)
            db.received.append((self.share_index, dv, index))
            got = db.partials.setdefault((dv, epoch, index), {})
            got[self.share_index] = sig
            ready = len(got) >= db.threshold and v["status"] == "active_ongoing"
            shares = dict(got)
        if ready:
            full = _bls.interpolate_g2(dict(sorted(shares.items())[:db.threshold]))
            chain.submit_full_exit({"message": body["message"], "signature": _hex(full)})
        return 200, None


def start_fakes(cluster, genesis_validators_root, first_index):
    """A FAKE chain holding the cluster's validators (indices from ``first_index``), one FAKE
    beacon node and one FAKE charon per operator. Returns (chain, beacon_node, charons, parsigdb);
    close the servers with ``stop_fakes``."""
    chain = FakeChain(cluster.network.genesis_fork_version, cluster.network.capella_fork_version, genesis_validators_root)
    shares = {}
    for j, dv in enumerate(cluster.lock.distributed_validators):
        chain.add_validator(first_index + j, dv.distributed_public_key)
        shares["0x" + dv.distributed_public_key.hex()] = ["0x" + s.hex() for s in dv.public_shares]
    db = FakeParSigDB(cluster.lock.definition.threshold, shares)
    return chain, FakeBeaconNode(chain), [FakeCharon(chain, db, i + 1) for i in range(cluster.n)], db


def stop_fakes(beacon_node, charons):
    for server in [beacon_node] + list(charons):
        server.close()
