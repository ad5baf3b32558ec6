# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""charon cluster definition and lock files, v1.0.0 - v1.11.0 (charon-formats.md §0, §2, §3, §4).

* ``parse_definition`` / ``parse_lock`` / ``load``: read any supported version (any whitespace,
  base64 in v1.0/v1.1, 0x-hex of either case later) into the classes below; bad input raises
  ``ClusterFormatError`` naming the field path and the source.
* ``config_hash`` / ``definition_hash`` / ``lock_hash``: charon's exact hashes, with every
  version's quirks (fastssz buffer behaviour for v1.0-v1.4).
* ``marshal_definition`` / ``marshal_lock``: byte-exact Go ``MarshalIndent(v, "", " ")`` in the
  version's field order with its omitempty rules; like charon they write the *true* hashes.
* ``new_definition`` / ``new_distributed_validator`` / ``new_builder_registration`` /
  ``new_deposit_data`` / ``new_lock``: build new files the way ``charon create dkg`` and
  ``charon dkg`` do.
* ``verify_definition`` / ``verify_lock``: charon's load-time checks (§4.7) as named booleans
  plus human-readable errors.

Byte fields are ``bytes`` in memory; addresses, ENRs and other text stay ``str`` exactly as in
the file, because the legacy hashes use the text itself.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import uuid as uuid_mod
from collections import OrderedDict

from ansible_collections.dvops.charon.plugins.module_utils import _files, _networks
from ansible_collections.dvops.charon.plugins.module_utils._ssz import Hasher, SSZError

SUPPORTED_VERSIONS = ("v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0", "v1.5.0", "v1.6.0", "v1.7.0",
                      "v1.8.0", "v1.9.0", "v1.10.0", "v1.11.0")
DEFAULT_VERSION = "v1.10.0"
DEFAULT_DKG_ALGORITHM = "default"
DEFAULT_TARGET_GAS_LIMIT = 60000000   # charon create dkg --target-gas-limit default
REGISTRATION_GAS_LIMIT = 30000000     # registration.DefaultGasLimit when target_gas_limit is 0
GWEI_PER_ETH = 1000000000

# SSZ limits (cluster/ssz.go).
_L_ENR, _L_NAME, _L_UUID, _L_VERSION, _L_TIMESTAMP, _L_DKG, _L_CONSENSUS = 1024, 256, 64, 16, 32, 32, 256
_L_OPERATORS, _L_VALIDATORS, _L_AMOUNTS, _L_SIGS, _L_PUBSHARES, _L_DEPOSITS = 256, 65536, 256, 32, 256, 256


class ClusterFormatError(ValueError):
    """A definition/lock cannot be read or written; ``field`` is the JSON path, ``source`` the file."""

    def __init__(self, message, field=None, source=None):
        self.field = field
        self.source = source
        self.reason = message
        where = [str(w) for w in (source, field) if w]
        super(ClusterFormatError, self).__init__(": ".join(where + [message]))


# Versions ----------------------------------------------------------------------------------------

def version_tuple(version):
    """``"v1.7.0"`` -> ``(1, 7)``; raise ClusterFormatError for unsupported versions."""
    if version not in SUPPORTED_VERSIONS:
        raise ClusterFormatError("unsupported definition version %r (supported: v1.0.0 ... v1.11.0)" % (version,),
                                 "version")
    major, minor = version[1:].split(".")[:2]
    return int(major), int(minor)


def _minor(version):
    return version_tuple(version)[1]


# Go JSON ------------------------------------------------------------------------------------------

def go_json(obj):
    """Go ``json.MarshalIndent(obj, "", " ")`` bytes (no trailing newline, HTML escaping)."""
    s = json.dumps(obj, indent=1, ensure_ascii=False)
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                 ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        s = s.replace(a, b)
    return s.encode("utf-8")


# Model -------------------------------------------------------------------------------------------

class _Model(object):
    __slots__ = ()

    def __eq__(self, other):
        return type(self) is type(other) and all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % (k, getattr(self, k)) for k in self.__slots__))

    __hash__ = None


class Operator(_Model):
    """``address`` (text, ``""`` when unsigned), ``enr`` (text), signatures (bytes), ``nonce`` (v1.0/v1.1)."""
    __slots__ = ("address", "enr", "config_signature", "enr_signature", "nonce")

    def __init__(self, enr="", address="", config_signature=b"", enr_signature=b"", nonce=0):
        self.enr = enr
        self.address = address
        self.config_signature = config_signature
        self.enr_signature = enr_signature
        self.nonce = nonce

    @property
    def unsigned(self):
        return not self.address and not self.config_signature and not self.enr_signature


class Creator(_Model):
    """Definition creator (v1.4+): ``address`` text and ``config_signature`` bytes."""
    __slots__ = ("address", "config_signature")

    def __init__(self, address="", config_signature=b""):
        self.address = address
        self.config_signature = config_signature


class ValidatorAddresses(_Model):
    """Per-DV ``fee_recipient_address`` and ``withdrawal_address`` (text, as in the file)."""
    __slots__ = ("fee_recipient_address", "withdrawal_address")

    def __init__(self, fee_recipient_address="", withdrawal_address=""):
        self.fee_recipient_address = fee_recipient_address
        self.withdrawal_address = withdrawal_address


class Definition(_Model):
    """A cluster definition.  ``fork_version``/hashes are bytes; ``deposit_amounts`` Gwei ints or None."""
    __slots__ = ("name", "creator", "operators", "uuid", "version", "timestamp", "num_validators", "threshold",
                 "validators", "dkg_algorithm", "fork_version", "deposit_amounts", "consensus_protocol",
                 "target_gas_limit", "compounding", "config_hash", "definition_hash")

    def __init__(self, name="", creator=None, operators=None, uuid="", version=DEFAULT_VERSION, timestamp="",
                 num_validators=0, threshold=0, validators=None, dkg_algorithm=DEFAULT_DKG_ALGORITHM,
                 fork_version=b"\x00\x00\x00\x00", deposit_amounts=None, consensus_protocol="", target_gas_limit=0,
                 compounding=False, config_hash=b"", definition_hash=b""):
        self.name = name
        self.creator = creator if creator is not None else Creator()
        self.operators = list(operators or [])
        self.uuid = uuid
        self.version = version
        self.timestamp = timestamp
        self.num_validators = num_validators
        self.threshold = threshold
        self.validators = list(validators or [])
        self.dkg_algorithm = dkg_algorithm
        self.fork_version = fork_version
        self.deposit_amounts = deposit_amounts
        self.consensus_protocol = consensus_protocol
        self.target_gas_limit = target_gas_limit
        self.compounding = compounding
        self.config_hash = config_hash
        self.definition_hash = definition_hash

    def network(self, release=None):
        """The ``_networks.Network`` of ``fork_version`` (NetworkError when unknown)."""
        return _networks.by_fork_version(self.fork_version, release)

    @property
    def unsigned(self):
        return bool(self.operators) and all(op.unsigned for op in self.operators)


class DepositData(_Model):
    """``deposit_data`` (v1.6/v1.7) or one ``partial_deposit_data`` entry (v1.8+)."""
    __slots__ = ("pubkey", "withdrawal_credentials", "amount", "signature")

    def __init__(self, pubkey=b"", withdrawal_credentials=b"", amount=0, signature=b""):
        self.pubkey = pubkey
        self.withdrawal_credentials = withdrawal_credentials
        self.amount = amount
        self.signature = signature

    @property
    def placeholder(self):
        return not self.pubkey and not self.withdrawal_credentials and not self.amount and not self.signature


class BuilderRegistration(_Model):
    """Signed ``ValidatorRegistration`` (v1.7+); ``fee_recipient`` is 20 raw bytes."""
    __slots__ = ("fee_recipient", "gas_limit", "timestamp", "pubkey", "signature")

    def __init__(self, fee_recipient=b"", gas_limit=0, timestamp=0, pubkey=b"", signature=b""):
        self.fee_recipient = fee_recipient
        self.gas_limit = gas_limit
        self.timestamp = timestamp
        self.pubkey = pubkey
        self.signature = signature


class DistributedValidator(_Model):
    """One DV: 48-byte key, public shares in operator order, deposit data and registration by version."""
    __slots__ = ("distributed_public_key", "public_shares", "deposit_data", "partial_deposit_data",
                 "builder_registration", "fee_recipient_address")

    def __init__(self, distributed_public_key=b"", public_shares=None, deposit_data=None, partial_deposit_data=None,
                 builder_registration=None, fee_recipient_address=""):
        self.distributed_public_key = distributed_public_key
        self.public_shares = list(public_shares or [])
        self.deposit_data = deposit_data                      # v1.6/v1.7 (None -> placeholder)
        self.partial_deposit_data = list(partial_deposit_data or [])   # v1.8+
        self.builder_registration = builder_registration      # v1.7+ (None -> zero values)
        self.fee_recipient_address = fee_recipient_address    # v1.0-v1.5, always empty


class Lock(_Model):
    """A cluster lock: the definition, its DVs, the BLS aggregate, the stored lock hash, node signatures."""
    __slots__ = ("definition", "distributed_validators", "signature_aggregate", "lock_hash", "node_signatures")

    def __init__(self, definition, distributed_validators=None, signature_aggregate=b"", lock_hash=b"",
                 node_signatures=None):
        self.definition = definition
        self.distributed_validators = list(distributed_validators or [])
        self.signature_aggregate = signature_aggregate
        self.lock_hash = lock_hash
        self.node_signatures = list(node_signatures or [])

    @property
    def version(self):
        return self.definition.version


# Decoding helpers --------------------------------------------------------------------------------

class _Reader(object):
    """Field access with error messages that carry the JSON path and the source."""

    def __init__(self, source):
        self.source = source

    def err(self, path, msg):
        return ClusterFormatError(msg, path, self.source)

    def obj(self, value, path):
        if not isinstance(value, dict):
            raise self.err(path, "expected a JSON object, got %s" % _jtype(value))
        return value

    def get(self, obj, key, path, required=True, default=None):
        if key not in obj:
            if required:
                raise self.err(_join(path, key), "missing")
            return default
        return obj[key]

    def text(self, obj, key, path, required=False):
        v = self.get(obj, key, path, required, "")
        if v is None:
            return ""
        if not isinstance(v, str):
            raise self.err(_join(path, key), "expected a string, got %s" % _jtype(v))
        return v

    def integer(self, obj, key, path, required=False, string_ok=False):
        v = self.get(obj, key, path, required, 0)
        if v is None:
            return 0
        if string_ok and isinstance(v, str):
            try:
                v = int(v, 10)
            except ValueError:
                raise self.err(_join(path, key), "expected a decimal integer string, got %r" % v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.err(_join(path, key), "expected an integer, got %s" % _jtype(v))
        if not 0 <= v < 2 ** 64:
            raise self.err(_join(path, key), "%d is out of the uint64 range" % v)
        return v

    def amount(self, value, path):
        """A Gwei amount written as a decimal string (a plain number is tolerated)."""
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.err(path, "expected a decimal string of Gwei, got %r" % (value,))
        if value >= 2 ** 64:
            raise self.err(path, "%d is out of the uint64 range" % value)
        return value

    def boolean(self, obj, key, path):
        v = self.get(obj, key, path, False, False)
        if v is None:
            return False
        if not isinstance(v, bool):
            raise self.err(_join(path, key), "expected true or false, got %s" % _jtype(v))
        return v

    def hexbytes(self, value, path, sizes=None, max_len=None):
        """ethHex: optional 0x, either case; ``""``/null -> b""."""
        if value is None:
            return b""
        if not isinstance(value, str):
            raise self.err(path, "expected a hex string, got %s" % _jtype(value))
        text = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise self.err(path, "not valid hex: %r" % _clip(value))
        if len(text) != 2 * len(raw):  # fromhex skips spaces; Go does not
            raise self.err(path, "not valid hex: %r" % _clip(value))
        return self._size(raw, path, sizes, max_len)

    def b64bytes(self, value, path, sizes=None, max_len=None):
        """Go []byte: standard base64 with padding; null -> None (kept so it is written back as null)."""
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.err(path, "expected a base64 string, got %s" % _jtype(value))
        try:
            raw = base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise self.err(path, "not valid base64: %r" % _clip(value))
        return self._size(raw, path, sizes, max_len)

    def _size(self, raw, path, sizes, max_len):
        if sizes is not None and len(raw) not in sizes:
            raise self.err(path, "wrong length: %d bytes, expected %s" % (
                len(raw), " or ".join(str(s) for s in sizes)))
        if max_len is not None and len(raw) > max_len:
            raise self.err(path, "wrong length: %d bytes, at most %d allowed" % (len(raw), max_len))
        return raw


def _jtype(v):
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(v), type(v).__name__)


def _clip(text, n=24):
    return text if len(text) <= n else text[:n] + "..."


def _join(path, key):
    if isinstance(key, int):
        return "%s[%d]" % (path, key)
    return "%s.%s" % (path, key) if path else key


def _address_bytes(text, path=None, source=None):
    """from0xHex for addresses: ``""`` -> b"", else exactly 20 bytes."""
    if not text:
        return b""
    t = text[2:] if text[:2] in ("0x", "0X") else text
    try:
        raw = bytes.fromhex(t)
    except ValueError:
        raise ClusterFormatError("not a hex address: %r" % _clip(text, 44), path, source)
    if len(raw) != 20 or len(t) != 40:
        raise ClusterFormatError("an address is 20 bytes (0x + 40 hex characters), got %r" % _clip(text, 44),
                                 path, source)
    return raw


def _load_json(data, source):
    if isinstance(data, dict):
        return data
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise ClusterFormatError("not UTF-8 text, so not a JSON cluster file", None, source)
    if not isinstance(data, str):
        raise ClusterFormatError("expected JSON text, got %s" % _jtype(data), None, source)
    if _files.json_too_deep(data):
        raise ClusterFormatError("not a cluster file: JSON nested too deeply", None, source)
    try:
        obj = json.loads(data)
    except ValueError as exc:
        raise ClusterFormatError("not valid JSON (%s); the file may be truncated or not a cluster file" % exc,
                                 None, source)
    except RecursionError:
        raise ClusterFormatError("not a cluster file: JSON nested too deeply", None, source)
    if not isinstance(obj, dict):
        raise ClusterFormatError("expected a JSON object at the top level, got %s" % _jtype(obj), None, source)
    return obj


# Parsing -----------------------------------------------------------------------------------------

def parse_definition(data, source=None, path=""):
    """Definition from JSON text/bytes or an already decoded dict (``path`` prefixes field names)."""
    r = _Reader(source)
    obj = r.obj(_load_json(data, source), path or "definition")
    version = r.get(obj, "version", path)
    if not isinstance(version, str) or version not in SUPPORTED_VERSIONS:
        raise r.err(_join(path, "version"), "unsupported definition version %r (supported: v1.0.0 ... v1.11.0)"
                    % (version,))
    minor = _minor(version)
    legacy_b64 = minor <= 1
    sig_bytes = r.b64bytes if legacy_b64 else r.hexbytes
    sig_max = None if minor >= 11 or minor <= 2 else 65

    d = Definition(version=version)
    d.name = r.text(obj, "name", path)
    d.uuid = r.text(obj, "uuid", path, required=True)
    d.timestamp = r.text(obj, "timestamp", path)
    d.num_validators = r.integer(obj, "num_validators", path, required=True)
    d.threshold = r.integer(obj, "threshold", path, required=True)
    d.dkg_algorithm = r.text(obj, "dkg_algorithm", path)
    fv_path = _join(path, "fork_version")
    d.fork_version = r.hexbytes(r.get(obj, "fork_version", path), fv_path, sizes=(4,))

    ops = r.get(obj, "operators", path)
    if not isinstance(ops, list):
        raise r.err(_join(path, "operators"), "expected an array, got %s" % _jtype(ops))
    for i, raw_op in enumerate(ops):
        op_path = "%s[%d]" % (_join(path, "operators"), i)
        o = r.obj(raw_op, op_path)
        op = Operator(enr=r.text(o, "enr", op_path), address=r.text(o, "address", op_path))
        op.config_signature = sig_bytes(o.get("config_signature"), _join(op_path, "config_signature"),
                                        max_len=sig_max)
        op.enr_signature = sig_bytes(o.get("enr_signature"), _join(op_path, "enr_signature"), max_len=sig_max)
        if minor <= 1:
            op.nonce = r.integer(o, "nonce", op_path)
            if op.nonce != 0:
                raise r.err(_join(op_path, "nonce"), "must be 0 (charon rejects non-zero nonces)")
        if minor >= 3:
            _address_bytes(op.address, _join(op_path, "address"), source)
        d.operators.append(op)

    if minor >= 4:
        c_path = _join(path, "creator")
        c = r.obj(r.get(obj, "creator", path, required=False, default={}) or {}, c_path)
        d.creator = Creator(address=r.text(c, "address", c_path),
                            config_signature=r.hexbytes(c.get("config_signature"), _join(c_path, "config_signature"),
                                                        max_len=sig_max))
        _address_bytes(d.creator.address, _join(c_path, "address"), source)

    if minor >= 5:
        v_path = _join(path, "validators")
        vals = r.get(obj, "validators", path)
        if not isinstance(vals, list):
            raise r.err(v_path, "expected an array, got %s" % _jtype(vals))
        for i, raw_v in enumerate(vals):
            vp = "%s[%d]" % (v_path, i)
            vo = r.obj(raw_v, vp)
            va = ValidatorAddresses(r.text(vo, "fee_recipient_address", vp), r.text(vo, "withdrawal_address", vp))
            _address_bytes(va.fee_recipient_address, _join(vp, "fee_recipient_address"), source)
            _address_bytes(va.withdrawal_address, _join(vp, "withdrawal_address"), source)
            d.validators.append(va)
        if len(d.validators) != d.num_validators:
            raise r.err(v_path, "num_validators (%d) does not match the number of validators (%d)"
                        % (d.num_validators, len(d.validators)))
    else:
        fee = r.text(obj, "fee_recipient_address", path)
        wd = r.text(obj, "withdrawal_address", path)
        if minor >= 3:
            _address_bytes(fee, _join(path, "fee_recipient_address"), source)
            _address_bytes(wd, _join(path, "withdrawal_address"), source)
        d.validators = [ValidatorAddresses(fee, wd) for dummy in range(d.num_validators)]

    if minor >= 8:
        a_path = _join(path, "deposit_amounts")
        amounts = obj.get("deposit_amounts")
        if amounts is None:
            d.deposit_amounts = None
        elif not isinstance(amounts, list):
            raise r.err(a_path, "expected an array of decimal strings, got %s" % _jtype(amounts))
        else:
            d.deposit_amounts = [r.amount(a, "%s[%d]" % (a_path, i)) for i, a in enumerate(amounts)]
    if minor >= 9:
        d.consensus_protocol = r.text(obj, "consensus_protocol", path)
    if minor >= 10:
        d.target_gas_limit = r.integer(obj, "target_gas_limit", path)
        d.compounding = r.boolean(obj, "compounding", path)

    hash_bytes = r.b64bytes if legacy_b64 else r.hexbytes
    d.config_hash = hash_bytes(obj.get("config_hash"), _join(path, "config_hash"), max_len=32) or b""
    d.definition_hash = hash_bytes(obj.get("definition_hash"), _join(path, "definition_hash"), max_len=32) or b""
    return d


def parse_lock(data, source=None):
    """Lock from JSON text/bytes or a decoded dict."""
    r = _Reader(source)
    obj = _load_json(data, source)
    if "cluster_definition" not in obj:
        raise r.err("cluster_definition", "missing (not a cluster lock)")
    d = parse_definition(r.obj(obj["cluster_definition"], "cluster_definition"), source, "cluster_definition")
    minor = _minor(d.version)
    b64 = minor <= 1
    byt = r.b64bytes if b64 else r.hexbytes

    dvs_raw = r.get(obj, "distributed_validators", "")
    if not isinstance(dvs_raw, list):
        raise r.err("distributed_validators", "expected an array, got %s" % _jtype(dvs_raw))
    dvs = []
    pk_max = None if minor <= 4 else 48
    for i, raw in enumerate(dvs_raw):
        p = "distributed_validators[%d]" % i
        o = r.obj(raw, p)
        dv = DistributedValidator()
        dv.distributed_public_key = r.hexbytes(r.get(o, "distributed_public_key", p),
                                               _join(p, "distributed_public_key"), max_len=pk_max)
        shares = o.get("public_shares") or []
        if not isinstance(shares, list):
            raise r.err(_join(p, "public_shares"), "expected an array, got %s" % _jtype(shares))
        dv.public_shares = [byt(s, "%s.public_shares[%d]" % (p, k), max_len=None if minor <= 2 else 48) or b""
                            for k, s in enumerate(shares)]
        if minor <= 5 and r.text(o, "fee_recipient_address", p):
            # charon: "distributed validator fee recipient not supported anymore".
            raise r.err(_join(p, "fee_recipient_address"), "must be empty (per-validator fee recipients live in "
                        "the definition)")
        if minor in (6, 7):
            dd = o.get("deposit_data")
            dv.deposit_data = _parse_deposit(r, dd, _join(p, "deposit_data")) if dd is not None else DepositData()
        br = o.get("builder_registration")
        if minor >= 7 or br is not None:
            # Kept before v1.7 only so that verification can report it (charon's older formats have none).
            dv.builder_registration = (_parse_registration(r, br, _join(p, "builder_registration"))
                                       if br is not None else BuilderRegistration())
        if minor >= 8:
            pdd = o.get("partial_deposit_data") or []
            if not isinstance(pdd, list):
                raise r.err(_join(p, "partial_deposit_data"), "expected an array, got %s" % _jtype(pdd))
            dv.partial_deposit_data = [_parse_deposit(r, e, "%s.partial_deposit_data[%d]" % (p, k))
                                       for k, e in enumerate(pdd)]
        dvs.append(dv)

    lock = Lock(d, dvs)
    lock.signature_aggregate = byt(obj.get("signature_aggregate"), "signature_aggregate") or b""
    if "lock_hash" not in obj:
        raise r.err("lock_hash", "missing")
    lock.lock_hash = byt(obj.get("lock_hash"), "lock_hash", max_len=32) or b""
    # Read in every version so that verification can report node signatures before v1.7.
    sigs = obj.get("node_signatures") or []
    if not isinstance(sigs, list):
        raise r.err("node_signatures", "expected an array, got %s" % _jtype(sigs))
    lock.node_signatures = [byt(s, "node_signatures[%d]" % k) or b"" for k, s in enumerate(sigs)]
    return lock


def _parse_deposit(r, raw, p):
    o = r.obj(raw, p)
    return DepositData(pubkey=r.hexbytes(o.get("pubkey"), _join(p, "pubkey"), max_len=48),
                       withdrawal_credentials=r.hexbytes(o.get("withdrawal_credentials"),
                                                         _join(p, "withdrawal_credentials"), max_len=32),
                       amount=r.integer(o, "amount", p, string_ok=True),
                       signature=r.hexbytes(o.get("signature"), _join(p, "signature"), max_len=96))


def _parse_registration(r, raw, p):
    o = r.obj(raw, p)
    mp = _join(p, "message")
    m = r.obj(o.get("message") or {}, mp)
    return BuilderRegistration(fee_recipient=r.hexbytes(m.get("fee_recipient"), _join(mp, "fee_recipient"),
                                                        sizes=(0, 20)),
                               gas_limit=r.integer(m, "gas_limit", mp),
                               timestamp=_parse_reg_timestamp(r, m, mp),
                               pubkey=r.hexbytes(m.get("pubkey"), _join(mp, "pubkey"), max_len=48),
                               signature=r.hexbytes(o.get("signature"), _join(p, "signature"), max_len=96))


def _parse_reg_timestamp(r, m, mp):
    v = m.get("timestamp")
    if isinstance(v, str):
        # Tolerate RFC 3339 text (go-eth2-client's own JSON form); charon writes unix seconds.
        try:
            ts = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
            return int(ts.timestamp())
        except ValueError:
            pass
    return r.integer(m, "timestamp", mp, string_ok=True)


def load(data, source=None):
    """Definition or Lock (a lock has ``cluster_definition``) from JSON text/bytes/dict."""
    obj = _load_json(data, source)
    if "cluster_definition" in obj:
        return parse_lock(obj, source)
    return parse_definition(obj, source)


def load_file(path):
    """``load`` on a file; unreadable files raise ClusterFormatError naming the path."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except (IOError, OSError) as exc:
        raise ClusterFormatError("cannot read the file: %s" % exc.strerror, None, path)
    return load(data, path)


# Hashing -----------------------------------------------------------------------------------------

def _ssz_guard(func):
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except SSZError as exc:
            raise ClusterFormatError("cannot hash: %s" % exc)
    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def _sig_put(h, sig, minor):
    if minor >= 11:
        h.put_k1_sig_list(sig, _L_SIGS)
    else:
        h.put_bytes_n(sig, 65)


def _legacy_pair(d):
    """The single fee/withdrawal pair of a pre-v1.5 definition (all entries must be equal)."""
    if not d.validators:
        return ValidatorAddresses()
    first = d.validators[0]
    for v in d.validators[1:]:
        if v != first:
            raise ClusterFormatError("before v1.5 every validator must use the same fee recipient and withdrawal "
                                     "address", "validators")
    return first


def _hash_definition_into(h, d, config_only, config=b""):
    minor = _minor(d.version)
    i = h.index()
    if minor <= 2:
        pair = _legacy_pair(d)
        h.put_bytes(d.uuid.encode())
        h.put_bytes(d.name.encode())
        h.put_bytes(d.version.encode())
        h.put_uint64(d.num_validators)
        h.put_uint64(d.threshold)
        h.put_bytes(pair.fee_recipient_address.encode())
        h.put_bytes(pair.withdrawal_address.encode())
        h.put_bytes(d.dkg_algorithm.encode())
        h.put_bytes(("0x" + bytes(d.fork_version).hex()).encode())
        oi = h.index()
        for op in d.operators:
            if config_only:
                h.put_bytes(op.address.encode())
                continue
            pi = h.index()
            h.put_bytes(op.address.encode())
            h.put_bytes(op.enr.encode())
            if minor <= 1:
                h.put_uint64(op.nonce)
            h.put_bytes(op.config_signature or b"")
            h.put_bytes(op.enr_signature or b"")
            h.merkleize(pi)
        h.merkleize_with_mixin(oi, len(d.operators), len(d.operators))
        if d.timestamp and (config_only or minor != 0):
            h.put_bytes(d.timestamp.encode())
        h.merkleize(i)
        return

    h.put_byte_list(d.uuid.encode(), _L_UUID)
    h.put_byte_list(d.name.encode(), _L_NAME)
    h.put_byte_list(d.version.encode(), _L_VERSION)
    h.put_byte_list(d.timestamp.encode(), _L_TIMESTAMP)
    h.put_uint64(d.num_validators)
    h.put_uint64(d.threshold)
    if minor <= 4:
        pair = _legacy_pair(d)
        h.put_bytes(_address_bytes(pair.fee_recipient_address, "fee_recipient_address"))
        h.put_bytes(_address_bytes(pair.withdrawal_address, "withdrawal_address"))
        h.put_byte_list(d.dkg_algorithm.encode(), _L_DKG)
        h.put_bytes(bytes(d.fork_version))
        oi = h.index()
        for k, op in enumerate(d.operators):
            pi = h.index()
            h.put_bytes(_address_bytes(op.address, "operators[%d].address" % k))
            if not config_only:
                h.put_byte_list(op.enr.encode(), _L_ENR)
                h.put_bytes(op.config_signature)
                h.put_bytes(op.enr_signature)
            h.merkleize(pi)
        h.merkleize_with_mixin(oi, len(d.operators), _L_OPERATORS)
        if minor == 4:
            ci = h.index()
            h.put_bytes(_address_bytes(d.creator.address, "creator.address"))
            if not config_only:
                h.put_bytes(d.creator.config_signature)
            h.merkleize(ci)
        if not config_only:
            h.put_bytes(bytes(config))
        h.merkleize(i)
        return

    h.put_byte_list(d.dkg_algorithm.encode(), _L_DKG)
    h.put_bytes_n(bytes(d.fork_version), 4)
    oi = h.index()
    for k, op in enumerate(d.operators):
        pi = h.index()
        h.put_hex_bytes20(_address_bytes(op.address, "operators[%d].address" % k))
        if not config_only:
            h.put_byte_list(op.enr.encode(), _L_ENR)
            _sig_put(h, op.config_signature, minor)
            _sig_put(h, op.enr_signature, minor)
        h.merkleize(pi)
    h.merkleize_with_mixin(oi, len(d.operators), _L_OPERATORS)
    ci = h.index()
    h.put_hex_bytes20(_address_bytes(d.creator.address, "creator.address"))
    if not config_only:
        _sig_put(h, d.creator.config_signature, minor)
    h.merkleize(ci)
    vi = h.index()
    for k, v in enumerate(d.validators):
        ei = h.index()
        h.put_hex_bytes20(_address_bytes(v.fee_recipient_address, "validators[%d].fee_recipient_address" % k))
        h.put_hex_bytes20(_address_bytes(v.withdrawal_address, "validators[%d].withdrawal_address" % k))
        h.merkleize(ei)
    h.merkleize_with_mixin(vi, len(d.validators), _L_VALIDATORS)
    if minor >= 8:
        h.put_uint64_list(list(d.deposit_amounts or []), _L_AMOUNTS)
    if minor >= 9:
        h.put_byte_list(d.consensus_protocol.encode(), _L_CONSENSUS)
    if minor >= 10:
        h.put_uint64(d.target_gas_limit)
        h.put_bool(d.compounding)
    if not config_only:
        h.put_bytes_n(bytes(config), 32)
    h.merkleize(i)


@_ssz_guard
def config_hash(d):
    """charon's config_hash (32 bytes) of a Definition."""
    h = Hasher()
    _hash_definition_into(h, d, True)
    return h.hash_root()


@_ssz_guard
def definition_hash(d, config=None):
    """charon's definition_hash.  Like charon it covers the *stored* ``config_hash`` (computed when the
    definition has none); pass ``config`` to hash over another value."""
    if config is None:
        config = bytes(d.config_hash) if len(d.config_hash or b"") == 32 else config_hash(d)
    h = Hasher()
    _hash_definition_into(h, d, False, config)
    return h.hash_root()


def fill_definition_hashes(d):
    """Set ``config_hash`` and ``definition_hash`` to their true values (what Go's MarshalJSON does)."""
    d.config_hash = config_hash(d)
    d.definition_hash = definition_hash(d, d.config_hash)
    return d


def _dv_root(dv, minor, dv_index=0):
    h = Hasher()
    i = h.index()
    pk = bytes(dv.distributed_public_key)
    if minor <= 2:
        h.put_bytes(("0x" + pk.hex()).encode())
        si = h.index()
        for s in dv.public_shares:
            h.put_bytes(bytes(s or b""))
        h.merkleize_with_mixin(si, len(dv.public_shares), len(dv.public_shares))
        h.merkleize(i)
        return h.hash_root()
    if minor <= 4:
        h.put_bytes(pk)
    else:
        h.put_bytes_n(pk, 48)
    si = h.index()
    for s in dv.public_shares:
        h.put_bytes_n(bytes(s), 48)
    h.merkleize_with_mixin(si, len(dv.public_shares), _L_PUBSHARES)
    if minor == 6:
        dd = dv.deposit_data or DepositData()
        _put_deposit_fields(h, dd)
    elif minor == 7:
        _put_deposit(h, dv.deposit_data or DepositData())
        _put_registration(h, dv.builder_registration or BuilderRegistration())
    elif minor >= 8:
        li = h.index()
        for dd in dv.partial_deposit_data:
            _put_deposit(h, dd)
        h.merkleize_with_mixin(li, len(dv.partial_deposit_data), _L_DEPOSITS)
        _put_registration(h, dv.builder_registration or BuilderRegistration())
    h.merkleize(i)
    return h.hash_root()


def _put_deposit_fields(h, dd):
    h.put_bytes_n(bytes(dd.pubkey), 48)
    h.put_bytes_n(bytes(dd.withdrawal_credentials), 32)
    h.put_uint64(dd.amount)
    h.put_bytes_n(bytes(dd.signature), 96)


def _put_deposit(h, dd):
    i = h.index()
    _put_deposit_fields(h, dd)
    h.merkleize(i)


def _put_registration(h, reg):
    i = h.index()
    ri = h.index()
    h.put_bytes(bytes(reg.fee_recipient))
    h.put_uint64(reg.gas_limit)
    h.put_uint64(reg.timestamp)
    h.put_bytes_n(bytes(reg.pubkey), 48)
    h.merkleize(ri)
    h.put_bytes_n(bytes(reg.signature), 96)
    h.merkleize(i)


@_ssz_guard
def lock_hash(lock, def_hash=None):
    """charon's lock_hash: sha256(definition_root || validators_root), the definition hash recomputed
    (over the stored config hash, as charon does)."""
    d = lock.definition
    minor = _minor(d.version)
    if def_hash is None:
        def_hash = definition_hash(d)
    h = Hasher()
    i = h.index()
    h.put_bytes(bytes(def_hash))
    vi = h.index()
    for k, dv in enumerate(lock.distributed_validators):
        h.put_root(_dv_root(dv, minor, k))
    n = len(lock.distributed_validators)
    h.merkleize_with_mixin(vi, n, _L_VALIDATORS if minor >= 3 else n)
    h.merkleize(i)
    return h.hash_root()


def hashes(obj):
    """``{"config_hash", "definition_hash", "lock_hash"}`` as computed, ``0x`` lowercase hex
    (``lock_hash`` None for a definition)."""
    d = obj.definition if isinstance(obj, Lock) else obj
    return {"config_hash": "0x" + config_hash(d).hex(), "definition_hash": "0x" + definition_hash(d).hex(),
            "lock_hash": "0x" + lock_hash(obj).hex() if isinstance(obj, Lock) else None}


def fill_lock_hash(lock):
    """Fill the definition's hashes and ``lock_hash`` with their true values."""
    fill_definition_hashes(lock.definition)
    lock.lock_hash = lock_hash(lock, lock.definition.definition_hash)
    return lock


# Writing -----------------------------------------------------------------------------------------

def _hex(b):
    return "0x" + bytes(b).hex() if b else ""


def _b64(b):
    if b is None:
        return None
    return base64.b64encode(bytes(b)).decode("ascii")


def definition_to_json(d):
    """OrderedDict in charon's field order for ``d.version`` (hashes as stored in ``d``)."""
    minor = _minor(d.version)
    byt = _b64 if minor <= 1 else _hex
    out = OrderedDict()
    if d.name:
        out["name"] = d.name
    if minor >= 4:
        out["creator"] = OrderedDict([("address", d.creator.address),
                                      ("config_signature", _hex(d.creator.config_signature))])
    ops = []
    for op in d.operators:
        o = OrderedDict([("address", op.address), ("enr", op.enr)])
        if minor <= 1:
            o["nonce"] = op.nonce
        o["config_signature"] = byt(op.config_signature)
        o["enr_signature"] = byt(op.enr_signature)
        ops.append(o)
    out["operators"] = ops
    out["uuid"] = d.uuid
    out["version"] = d.version
    if d.timestamp:
        out["timestamp"] = d.timestamp
    out["num_validators"] = d.num_validators
    out["threshold"] = d.threshold
    if minor >= 5:
        out["validators"] = [OrderedDict([("fee_recipient_address", v.fee_recipient_address),
                                          ("withdrawal_address", v.withdrawal_address)]) for v in d.validators]
    else:
        pair = _legacy_pair(d)
        if pair.fee_recipient_address:
            out["fee_recipient_address"] = pair.fee_recipient_address
        if pair.withdrawal_address:
            out["withdrawal_address"] = pair.withdrawal_address
    out["dkg_algorithm"] = d.dkg_algorithm
    out["fork_version"] = "0x" + bytes(d.fork_version).hex()
    if minor >= 8:
        out["deposit_amounts"] = None if d.deposit_amounts is None else [str(a) for a in d.deposit_amounts]
    if minor >= 9:
        out["consensus_protocol"] = d.consensus_protocol
    if minor >= 10:
        out["target_gas_limit"] = d.target_gas_limit
        out["compounding"] = bool(d.compounding)
    out["config_hash"] = byt(d.config_hash)
    out["definition_hash"] = byt(d.definition_hash)
    return out


def _deposit_json(dd):
    return OrderedDict([("pubkey", _hex(dd.pubkey)), ("withdrawal_credentials", _hex(dd.withdrawal_credentials)),
                        ("amount", str(dd.amount)), ("signature", _hex(dd.signature))])


def _registration_json(reg):
    return OrderedDict([
        ("message", OrderedDict([("fee_recipient", _hex(reg.fee_recipient)), ("gas_limit", reg.gas_limit),
                                 ("timestamp", reg.timestamp), ("pubkey", _hex(reg.pubkey))])),
        ("signature", _hex(reg.signature))])


def lock_to_json(lock):
    """OrderedDict in charon's field order for the lock's version (hashes as stored)."""
    d = lock.definition
    minor = _minor(d.version)
    out = OrderedDict()
    out["cluster_definition"] = definition_to_json(d)
    dvs = []
    for dv in lock.distributed_validators:
        o = OrderedDict([("distributed_public_key", _hex(dv.distributed_public_key))])
        if dv.public_shares:
            o["public_shares"] = [(_b64(s) if minor <= 1 else _hex(s)) for s in dv.public_shares]
        if minor <= 5:
            if dv.fee_recipient_address:
                o["fee_recipient_address"] = dv.fee_recipient_address
        elif minor <= 7:
            o["deposit_data"] = _deposit_json(dv.deposit_data or DepositData())
            if minor == 7:
                o["builder_registration"] = _registration_json(dv.builder_registration or BuilderRegistration())
        else:
            o["builder_registration"] = _registration_json(dv.builder_registration or BuilderRegistration())
            if dv.partial_deposit_data:
                o["partial_deposit_data"] = [_deposit_json(dd) for dd in dv.partial_deposit_data]
        dvs.append(o)
    out["distributed_validators"] = dvs
    out["signature_aggregate"] = _b64(lock.signature_aggregate) if minor <= 1 else _hex(lock.signature_aggregate)
    out["lock_hash"] = _b64(lock.lock_hash) if minor <= 1 else _hex(lock.lock_hash)
    if minor >= 7:
        out["node_signatures"] = [_hex(s) for s in lock.node_signatures]
    return out


def marshal_definition(d, rehash=True):
    """Go JSON bytes of a definition; ``rehash`` (charon's behaviour) writes the true hashes into ``d`` first."""
    if rehash:
        fill_definition_hashes(d)
    return go_json(definition_to_json(d))


def marshal_lock(lock, rehash=True):
    """Go JSON bytes of a lock; ``rehash`` (charon's behaviour) writes the true hashes into ``lock`` first."""
    if rehash:
        fill_lock_hash(lock)
    return go_json(lock_to_json(lock))


# Creation (charon create dkg / charon dkg) ------------------------------------------------------

def recommended_threshold(n):
    """cluster.Threshold: ceil(2n/3)."""
    return (2 * int(n) + 2) // 3


def new_uuid():
    """Uppercase RFC 4122 v4 text (charon generateUUID)."""
    return str(uuid_mod.uuid4()).upper()


def rfc3339_now():
    """Current local time in Go time.RFC3339 (seconds, numeric offset or Z)."""
    now = datetime.datetime.now().astimezone().replace(microsecond=0)
    text = now.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def new_definition(name, operator_enrs, num_validators, fee_recipient_addresses, withdrawal_addresses,
                   threshold=None, network="mainnet", fork_version=None, deposit_amounts=None, compounding=False,
                   target_gas_limit=DEFAULT_TARGET_GAS_LIMIT, consensus_protocol="",
                   dkg_algorithm=DEFAULT_DKG_ALGORITHM, version=DEFAULT_VERSION, uuid=None, timestamp=None,
                   release=None):
    """An unsigned definition as ``charon create dkg`` writes it, with its hashes filled.

    Operators are ENRs only (address ``""``, empty signatures), the creator is empty.
    ``fee_recipient_addresses``/``withdrawal_addresses``: one address (used for every DV) or one
    per DV.  ``fork_version`` (bytes/hex) overrides ``network``; ``deposit_amounts`` are Gwei ints.
    """
    minor = _minor(version)
    if fork_version is None:
        fork_version = _networks.by_name(network, release).genesis_fork_version
    fork_version = _networks.fork_version_bytes(fork_version)
    enrs = list(operator_enrs)
    if not enrs:
        raise ClusterFormatError("at least one operator ENR is required", "operators")
    num_validators = int(num_validators)
    if num_validators < 1:
        raise ClusterFormatError("must be at least 1", "num_validators")
    fees = _per_validator(fee_recipient_addresses, num_validators, "fee_recipient_addresses")
    wds = _per_validator(withdrawal_addresses, num_validators, "withdrawal_addresses")
    if threshold is None:
        threshold = recommended_threshold(len(enrs))
    if not 1 <= int(threshold) <= len(enrs):
        raise ClusterFormatError("threshold %s must be between 1 and the number of operators (%d)"
                                 % (threshold, len(enrs)), "threshold")
    if minor >= 10 and not int(target_gas_limit):
        raise ClusterFormatError("must be non-zero from v1.10", "target_gas_limit")
    d = Definition(
        name=name or "", creator=Creator(), operators=[Operator(enr=e) for e in enrs],
        uuid=uuid or new_uuid(), version=version, timestamp=timestamp or rfc3339_now(),
        num_validators=num_validators, threshold=int(threshold),
        validators=[ValidatorAddresses(f, w) for f, w in zip(fees, wds)],
        dkg_algorithm=dkg_algorithm, fork_version=fork_version,
        deposit_amounts=None if deposit_amounts is None else [int(a) for a in deposit_amounts],
        consensus_protocol=consensus_protocol or "", target_gas_limit=int(target_gas_limit) if minor >= 10 else 0,
        compounding=bool(compounding) if minor >= 10 else False)
    for k, v in enumerate(d.validators):
        _address_bytes(v.fee_recipient_address, "validators[%d].fee_recipient_address" % k)
        _address_bytes(v.withdrawal_address, "validators[%d].withdrawal_address" % k)
    return fill_definition_hashes(d)


def _per_validator(value, n, field):
    if isinstance(value, str):
        return [value] * n
    values = list(value)
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise ClusterFormatError("give one address or one per validator (%d), got %d" % (n, len(values)), field)
    return values


def new_deposit_data(pubkey, withdrawal_credentials, amount, signature):
    """A lock deposit entry (``partial_deposit_data`` item, or v1.6/v1.7 ``deposit_data``)."""
    return DepositData(bytes(pubkey), bytes(withdrawal_credentials), int(amount), bytes(signature))


def registration_gas_limit(d):
    """Gas limit of the builder registrations: ``target_gas_limit``, or 30000000 when 0."""
    return d.target_gas_limit or REGISTRATION_GAS_LIMIT


def registration_timestamp(d, release=None):
    """Timestamp of the builder registrations DKG creates: the network's genesis time."""
    return d.network(release).genesis_time


def new_builder_registration(d, dv_index, pubkey, signature=b"", timestamp=None, gas_limit=None, release=None):
    """The registration of DV ``dv_index`` as DKG builds it (sign its ``registration_signing_root``)."""
    fee = _address_bytes(d.validators[dv_index].fee_recipient_address,
                         "validators[%d].fee_recipient_address" % dv_index)
    return BuilderRegistration(fee_recipient=fee,
                               gas_limit=registration_gas_limit(d) if gas_limit is None else int(gas_limit),
                               timestamp=registration_timestamp(d, release) if timestamp is None else int(timestamp),
                               pubkey=bytes(pubkey), signature=bytes(signature))


def registration_signing_root(d, reg, release=None):
    """Root the DV key signs for ``reg`` (builder domain, genesis fork version, zero validators root)."""
    from ansible_collections.dvops.charon.plugins.module_utils import _eth2
    return _eth2.registration_signing_root(reg.fee_recipient, reg.gas_limit, reg.timestamp, reg.pubkey,
                                           d.fork_version)


def new_distributed_validator(pubkey, public_shares, builder_registration=None, partial_deposit_data=(),
                              deposit_data=None):
    """A lock DV: ``public_shares`` in operator order (x = 1..n)."""
    return DistributedValidator(distributed_public_key=bytes(pubkey), public_shares=[bytes(s) for s in public_shares],
                                builder_registration=builder_registration,
                                partial_deposit_data=list(partial_deposit_data), deposit_data=deposit_data)


def new_lock(definition, distributed_validators, signature_aggregate=b"", node_signatures=()):
    """A lock with every hash filled (sign ``lock.lock_hash`` for the aggregate and node signatures,
    then set them: neither is part of the lock hash)."""
    lock = Lock(definition, distributed_validators, bytes(signature_aggregate), b"",
                [bytes(s) for s in node_signatures])
    return fill_lock_hash(lock)


# Verification (filled in _verify section below) ------------------------------------------------

class Report(object):
    """Named check results: ``checks`` {name: bool}, ``errors`` [text]; ``valid`` when all passed."""

    def __init__(self):
        self.checks = OrderedDict()
        self.errors = []

    def record(self, name, ok, problems=()):
        problems = list(problems)
        ok = bool(ok) and not problems
        self.checks[name] = self.checks.get(name, True) and ok
        if not ok:
            self.errors.extend("%s: %s" % (name, p) for p in (problems or ["failed"]))
        return ok

    @property
    def valid(self):
        return all(self.checks.values())

    def as_dict(self):
        return {"checks": dict(self.checks), "errors": list(self.errors), "valid": self.valid}


# Verification ------------------------------------------------------------------------------------

def deposit_amount_problems(amounts, compounding=False, field="deposit_amounts"):
    """charon VerifyDepositAmounts: empty is fine; else each in [1 ETH, 32 ETH] (2048 when compounding)
    and the sum >= 32 ETH.  Returns a list of problems."""
    amounts = list(amounts or [])
    if not amounts:
        return []
    cap = (2048 if compounding else 32) * GWEI_PER_ETH
    problems = []
    for k, a in enumerate(amounts):
        if a < GWEI_PER_ETH:
            problems.append("%s[%d]: %d Gwei is below the 1 ETH minimum" % (field, k, a))
        elif a > cap:
            problems.append("%s[%d]: %d Gwei exceeds the %d ETH maximum" % (field, k, a, cap // GWEI_PER_ETH))
    if sum(amounts) < 32 * GWEI_PER_ETH:
        problems.append("%s: the sum %d Gwei is below 32 ETH" % (field, sum(amounts)))
    return problems


def _chain_id(d, release):
    try:
        return d.network(release).chain_id, None
    except _networks.NetworkError as exc:
        return None, str(exc)


def _sig_shape_problem(sig, minor, field):
    if minor >= 11:
        if not sig or len(sig) % 65 or len(sig) // 65 > _L_SIGS:
            return "%s: %d bytes is not 1..%d signatures of 65 bytes" % (field, len(sig), _L_SIGS)
    elif len(sig) != 65:
        return "%s: a signature is 65 bytes, got %d" % (field, len(sig))
    return None


def _check_eip712(d, sig, address, digest, field, minor):
    """Problem text, or None when the EOA signature recovers to ``address``."""
    from ansible_collections.dvops.charon.plugins.module_utils import _eip712
    shape = _sig_shape_problem(sig, minor, field)
    if shape:
        return shape
    if len(sig) > 65:
        return "%s: a multi-part (ERC-1271 contract) signature needs an on-chain check, not done offline" % field
    if not _eip712.verify(address, sig, digest):
        return "%s: does not recover to %s" % (field, address or "an empty address")
    return None


def verify_definition_hashes(d, report, prefix=""):
    """config_hash / definition_hash: computed vs stored."""
    computed_cfg = config_hash(d)
    computed_def = definition_hash(d)
    for name, stored, computed in (("config_hash", d.config_hash, computed_cfg),
                                   ("definition_hash", d.definition_hash, computed_def)):
        if not stored:
            report.record(name, False, ["%s%s is missing (computed 0x%s)" % (prefix, name, computed.hex())])
        else:
            report.record(name, bytes(stored) == computed,
                          [] if bytes(stored) == computed else
                          ["%s%s: stored 0x%s, computed 0x%s" % (prefix, name, bytes(stored).hex(), computed.hex())])
    return computed_cfg, computed_def


def verify_definition_signatures(d, report, release=None, prefix=""):
    """EIP-712 operator (config + ENR) and creator signatures by charon's rules (§4.2)."""
    from ansible_collections.dvops.charon.plugins.module_utils import _eip712
    minor = _minor(d.version)
    op_problems, creator_problems = [], []
    ops = d.operators
    if minor <= 2:
        for k, op in enumerate(ops):
            if op.config_signature or op.enr_signature:
                op_problems.append("%soperators[%d]: %s definitions cannot carry operator signatures"
                                   % (prefix, k, d.version))
        report.record("operator_signatures", True, op_problems)
        report.record("creator_signature", True)
        return
    unsigned = [op.unsigned for op in ops]
    all_unsigned = bool(ops) and all(unsigned)
    if any(unsigned) and not all_unsigned:
        op_problems.append("%soperators: either every operator is unsigned or none is (unsigned: %s)"
                           % (prefix, ", ".join(str(k) for k, u in enumerate(unsigned) if u)))
    cfg = bytes(d.config_hash) or config_hash(d)
    chain, chain_err = _chain_id(d, release)
    needs_chain = not all_unsigned or (minor >= 4 and (d.creator.address or d.creator.config_signature))
    if needs_chain and chain is None:
        op_problems.append("%sfork_version: %s" % (prefix, chain_err))
    if chain is not None:
        for k, op in enumerate(ops):
            if op.unsigned:
                continue
            path = "%soperators[%d]" % (prefix, k)
            if not op.config_signature or not op.enr_signature:
                op_problems.append("%s: a signed operator needs both config_signature and enr_signature" % path)
                continue
            p = _check_eip712(d, op.config_signature, op.address, _eip712.operator_config_digest(minor, cfg, chain),
                              path + ".config_signature", minor)
            if p:
                op_problems.append(p)
            p = _check_eip712(d, op.enr_signature, op.address, _eip712.enr_digest(op.enr, chain),
                              path + ".enr_signature", minor)
            if p:
                op_problems.append(p)
    report.record("operator_signatures", not op_problems, op_problems)
    if minor >= 4:
        c = d.creator
        if not c.address and not c.config_signature:
            if not all_unsigned:
                creator_problems.append("%screator: an empty creator is only allowed when every operator is unsigned"
                                        % prefix)
        elif chain is not None:
            p = _check_eip712(d, c.config_signature, c.address, _eip712.creator_config_hash_digest(cfg, chain),
                              prefix + "creator.config_signature", minor)
            if p:
                creator_problems.append(p)
        else:
            creator_problems.append("%sfork_version: %s" % (prefix, chain_err))
    report.record("creator_signature", not creator_problems, creator_problems)


def operator_enr_problems(d, prefix=""):
    """Why the operators' ENRs are not ready for a ceremony: an operator that has not joined (empty ENR), an ENR
    that does not parse or whose record signature fails, the same peer twice (what charon's def.Peers() and
    p2p.VerifyP2PKey need before a DKG).  [] when every operator can take part."""
    return ["%soperators[%d].enr: %s" % (prefix, k, text) for k, text in operator_enr_issues(d)]


def operator_enr_issues(d):
    """``operator_enr_problems`` as (operator index, text) pairs, for callers that name the operator's host."""
    from ansible_collections.dvops.charon.plugins.module_utils import _enr
    issues, keys = [], {}
    for k, op in enumerate(d.operators):
        if not op.enr:
            issues.append((k, "empty, the operator%s has not joined yet" % (" " + op.address if op.address else "")))
            continue
        try:
            rec = _enr.parse(op.enr)
        except Exception as exc:  # pylint: disable=broad-except
            issues.append((k, "not a valid ENR (%s)" % exc))
            continue
        if not rec["signature_valid"]:
            issues.append((k, "the record signature does not verify"))
        if rec["public_key"] in keys:
            issues.append((k, "the same peer as operators[%d]" % keys[rec["public_key"]]))
        keys.setdefault(rec["public_key"], k)
    return issues


def verify_operator_enrs(d, report, prefix=""):
    """Every ENR parses with a valid signature; no duplicate peers (p2p.VerifyP2PKey's preconditions)."""
    problems = operator_enr_problems(d, prefix)
    report.record("operator_enrs", not problems, problems)


def verify_definition(d, verify_signatures=True, release=None, report=None, check_enrs=True):
    """Checks of a definition: hashes, deposit amounts, operator ENRs, EIP-712 signatures.

    ``check_enrs=False`` checks what charon's Definition.VerifyHashes/VerifySignatures do and no more: a definition
    whose operators have not all joined, or holding an ENR that does not parse, is still valid to charon (it
    signs and hashes the ENR text); ``operator_enr_problems`` says whether it is ready for the ceremony."""
    report = report if report is not None else Report()
    verify_definition_hashes(d, report)
    _definition_rules(d, report)
    if check_enrs:
        verify_operator_enrs(d, report)
    if verify_signatures:
        verify_definition_signatures(d, report, release)
    return report


def _definition_rules(d, report, prefix=""):
    problems = []
    minor = _minor(d.version)
    if minor >= 8:
        problems += [prefix + p for p in deposit_amount_problems(d.deposit_amounts, d.compounding)]
    report.record("deposit_amounts", not problems, problems)
    problems = []
    n = len(d.operators)
    if not 1 <= d.threshold <= n:
        problems.append("%sthreshold %d must be between 1 and the number of operators (%d)" % (prefix, d.threshold, n))
    if len(d.validators) != d.num_validators:
        problems.append("%snum_validators %d but %d validators" % (prefix, d.num_validators, len(d.validators)))
    report.record("threshold", not problems, problems)


class _Bls(object):
    """Points decoded once per verification, plus batched signature checks.

    Signatures are checked in one multi-pairing with random 64-bit weights (a wrong signature
    passes with probability 2^-64); on failure each is re-checked alone to name it.
    """

    def __init__(self):
        from ansible_collections.dvops.charon.plugins.module_utils._deps import require
        from ansible_collections.dvops.charon.plugins.module_utils import _bls
        self.lib = require("py_arkworks_bls12381")
        self.dst = _bls.DST
        self.curve_order = _bls.CURVE_ORDER
        self._g1 = {}
        self.items = []
        self.identity = self.lib.G1Point.identity()

    def g1(self, data):
        """Subgroup-checked, non-identity G1 point or None (cached by bytes)."""
        data = bytes(data)
        if data in self._g1:
            return self._g1[data]
        point = None
        if len(data) == 48:
            try:
                # arkworks' checked decoding rejects points outside the prime-order subgroup.
                p = self.lib.G1Point.from_compressed_bytes(data)
                if p != self.identity:
                    point = p
            except Exception:  # pylint: disable=broad-except
                point = None
        self._g1[data] = point
        return point

    def g2(self, data):
        data = bytes(data)
        if len(data) != 96:
            return None
        try:
            return self.lib.G2Point.from_compressed_bytes(data)   # subgroup-checked, as for G1
        except Exception:  # pylint: disable=broad-except
            return None

    def scalar(self, k):
        return self.lib.Scalar(int(k) % self.curve_order)

    def add(self, pubkey, msg, sig, label, check):
        """Queue one signature check; returns a problem text now if a point is malformed."""
        pk = self.g1(pubkey)
        if pk is None:
            return "%s: the public key is not a valid BLS12-381 G1 point" % label
        s = self.g2(sig)
        if s is None:
            return "%s: the signature is not a valid BLS12-381 G2 point (%d bytes)" % (label, len(sig))
        self.items.append((bytes(pubkey), pk, bytes(msg), s, label, check))
        return None

    def _check(self, items, weighted):
        """One pairing check: prod_pk e(pk, sum_i w_i H(m_i)) == e(g1, sum_i w_i sig_i).

        Grouping by key costs one Miller loop per validator key instead of one per signature
        (a DV's registration and deposits share its key).
        """
        import secrets
        lib = self.lib
        groups = OrderedDict()
        sigs, ws = [], []
        for pkb, pk, msg, s, _label, _check in items:
            w = self.scalar(secrets.randbits(64) | 1 if weighted else 1)
            entry = groups.setdefault(pkb, (pk, [], []))
            entry[1].append(lib.G2Point.hash_to_curve(msg, self.dst))
            entry[2].append(w)
            sigs.append(s)
            ws.append(w)
        g1s, g2s = [], []
        for pk, hashes, weights in groups.values():
            g1s.append(pk)
            g2s.append(lib.G2Point.multiexp_unchecked(hashes, weights) if weighted else hashes[0])
        g1s.append(-lib.G1Point())
        g2s.append(lib.G2Point.multiexp_unchecked(sigs, ws) if weighted else sigs[0])
        return bool(lib.GT.pairing_check(g1s, g2s))

    def run(self):
        """``[(check, label)]`` of the queued signatures that fail (and clear the queue)."""
        items, self.items = self.items, []
        if not items:
            return []
        if len(items) > 1 and self._check(items, True):
            return []
        return [(it[5], it[4]) for it in items if not self._check([it], False)]


def _share_polynomial_checks(t, n):
    """[(xs, lagrange coefficients at 0)]: x=1..t, then {1..t-1, k} for each k > t (§4.5)."""
    from ansible_collections.dvops.charon.plugins.module_utils import _bls
    sets = [list(range(1, t + 1))] + [list(range(1, t)) + [k] for k in range(t + 1, n + 1)]
    return [(xs, _bls.lagrange_coefficients(xs)) for xs in sets]


def _verify_shares(lock, bls, report):
    """Share consistency for every DV, batched into one multi-scalar multiplication."""
    import secrets
    d = lock.definition
    n, t = len(d.operators), d.threshold
    problems = []
    if not 1 <= t <= n:
        report.record("public_shares", False, ["threshold %d is not between 1 and %d operators" % (t, n)])
        return
    checks = _share_polynomial_checks(t, n)
    seen_keys = {}
    batch = []  # (dv index, pk point, [share points])
    for j, dv in enumerate(lock.distributed_validators):
        label = "distributed_validators[%d]" % j
        pkb = bytes(dv.distributed_public_key)
        if pkb in seen_keys:
            problems.append("%s: duplicate distributed_public_key (also validator %d)" % (label, seen_keys[pkb]))
        seen_keys.setdefault(pkb, j)
        if len(dv.public_shares) != n:
            problems.append("%s: %d public_shares for %d operators" % (label, len(dv.public_shares), n))
            continue
        if len(set(bytes(s) for s in dv.public_shares)) != n:
            problems.append("%s: duplicate public shares" % label)
            continue
        pk = bls.g1(pkb)
        if pk is None:
            problems.append("%s.distributed_public_key: not a valid BLS12-381 G1 point" % label)
            continue
        pts = [bls.g1(s) for s in dv.public_shares]
        bad = [k for k, p in enumerate(pts) if p is None]
        if bad:
            problems.append("%s.public_shares[%s]: not a valid BLS12-381 G1 point" % (label, ",".join(map(str, bad))))
            continue
        batch.append((j, pk, pts))

    def combination(entries, weighted):
        points, scalars = [], []
        r = bls.curve_order
        for _j, pk, pts in entries:
            coeff = [0] * n
            pk_coeff = 0
            for xs, lams in checks:
                w = (secrets.randbits(64) | 1) if weighted else 1
                for x, lam in zip(xs, lams):
                    coeff[x - 1] = (coeff[x - 1] + w * lam) % r
                pk_coeff = (pk_coeff - w) % r
            points.extend(pts)
            scalars.extend(coeff)
            points.append(pk)
            scalars.append(pk_coeff)
        res = bls.lib.G1Point.multiexp_unchecked(points, [bls.scalar(s) for s in scalars])
        return res == bls.identity

    if batch and not combination(batch, True):
        for entry in batch:
            j, pk, pts = entry
            for xs, lams in checks:
                got = bls.lib.G1Point.multiexp_unchecked([pts[x - 1] for x in xs], [bls.scalar(v) for v in lams])
                if got != pk:
                    problems.append("distributed_validators[%d]: shares at x=%s do not interpolate to the "
                                    "distributed_public_key" % (j, ",".join(map(str, xs))))
                    break
    report.record("public_shares", not problems, problems)


def _verify_aggregate(lock, bls, msg, report):
    minor = _minor(lock.version)
    sig = bytes(lock.signature_aggregate)
    if not sig:
        if minor <= 1:
            report.record("signature_aggregate", True)
        else:
            report.record("signature_aggregate", False, ["signature_aggregate is empty (required from v1.2)"])
        return
    shares = [s for dv in lock.distributed_validators for s in dv.public_shares]
    problems = []
    pts = [bls.g1(s) for s in shares]
    if not shares:
        problems.append("no public shares to verify the aggregate against")
    elif any(p is None for p in pts):
        problems.append("a public share is not a valid BLS12-381 G1 point")
    else:
        agg = pts[0]
        for p in pts[1:]:
            agg = agg + p
        s = bls.g2(sig)
        if s is None:
            problems.append("signature_aggregate is not a valid BLS12-381 G2 point (%d bytes)" % len(sig))
        elif not bls.lib.GT.pairing_check([agg, -bls.lib.G1Point()],
                                          [bls.lib.G2Point.hash_to_curve(bytes(msg), bls.dst), s]):
            problems.append("FastAggregateVerify over all %d public shares with the lock hash fails" % len(shares))
    report.record("signature_aggregate", not problems, problems)


def _verify_registrations(lock, bls):
    """Registration problems; their signatures are queued on ``bls`` (check "builder_registrations")."""
    from ansible_collections.dvops.charon.plugins.module_utils import _eth2
    d = lock.definition
    problems = []
    for j, dv in enumerate(lock.distributed_validators):
        label = "distributed_validators[%d].builder_registration" % j
        reg = dv.builder_registration or BuilderRegistration()
        if j >= len(d.validators):
            problems.append("%s: no validators[%d] entry in the definition" % (label, j))
            continue
        try:
            fee = _address_bytes(d.validators[j].fee_recipient_address, "validators[%d].fee_recipient_address" % j)
        except ClusterFormatError as exc:
            problems.append(str(exc))
            continue
        if bytes(reg.fee_recipient) != fee:
            problems.append("%s.message.fee_recipient: 0x%s is not the definition's fee recipient %s"
                            % (label, bytes(reg.fee_recipient).hex(), d.validators[j].fee_recipient_address))
        if bytes(reg.pubkey) != bytes(dv.distributed_public_key):
            problems.append("%s.message.pubkey: not the distributed_public_key" % label)
        try:
            root = _eth2.registration_signing_root(fee or bytes(20), reg.gas_limit, reg.timestamp,
                                                   bytes(dv.distributed_public_key), bytes(d.fork_version))
        except ValueError as exc:
            problems.append("%s: %s" % (label, exc))
            continue
        p = bls.add(dv.distributed_public_key, root, reg.signature, label + ".signature", "builder_registrations")
        if p:
            problems.append(p)
    return problems


def _verify_deposits(lock, bls):
    """Deposit problems; with ``bls`` the signatures are queued on it (check "deposit_data")."""
    from ansible_collections.dvops.charon.plugins.module_utils import _eth2
    d = lock.definition
    minor = _minor(d.version)
    problems = []
    cap = (2048 if d.compounding else 32) * GWEI_PER_ETH
    wanted = sorted(set(d.deposit_amounts)) if d.deposit_amounts else None
    for j, dv in enumerate(lock.distributed_validators):
        if minor in (6, 7):
            entries = [("deposit_data", dv.deposit_data or DepositData())]
            if entries[0][1].placeholder:
                continue  # charon-created v1.6/v1.7 locks may carry a zero placeholder: hashed, not verified
        else:
            entries = [("partial_deposit_data[%d]" % k, dd) for k, dd in enumerate(dv.partial_deposit_data)]
            amounts = [dd.amount for dd in dv.partial_deposit_data]
            if len(set(amounts)) != len(amounts):
                problems.append("distributed_validators[%d].partial_deposit_data: duplicate amounts" % j)
            if wanted is not None and entries and sorted(set(amounts)) != wanted:
                problems.append("distributed_validators[%d].partial_deposit_data: amounts %s differ from the "
                                "definition's deposit_amounts %s" % (j, sorted(amounts), wanted))
        wd = d.validators[j].withdrawal_address if j < len(d.validators) else ""
        try:
            want_wc = _eth2.withdrawal_credentials(_address_bytes(wd, "validators[%d].withdrawal_address" % j),
                                                   d.compounding)
        except (ClusterFormatError, ValueError) as exc:
            problems.append("validators[%d].withdrawal_address: %s" % (j, exc))
            continue
        for name, dd in entries:
            label = "distributed_validators[%d].%s" % (j, name)
            if bytes(dd.pubkey) != bytes(dv.distributed_public_key):
                problems.append("%s.pubkey: not the distributed_public_key" % label)
                continue
            if bytes(dd.withdrawal_credentials) != want_wc:
                problems.append("%s.withdrawal_credentials: 0x%s, expected 0x%s from withdrawal address %s"
                                % (label, bytes(dd.withdrawal_credentials).hex(), want_wc.hex(), wd))
                continue
            if not GWEI_PER_ETH <= dd.amount <= cap:
                problems.append("%s.amount: %d Gwei is outside [1, %d] ETH" % (label, dd.amount, cap // GWEI_PER_ETH))
                continue
            if bls is not None:
                root = _eth2.deposit_signing_root(bytes(dd.pubkey), bytes(dd.withdrawal_credentials), dd.amount,
                                                  bytes(d.fork_version))
                p = bls.add(dd.pubkey, root, dd.signature, label + ".signature", "deposit_data")
                if p:
                    problems.append(p)
    return problems


def _verify_node_signatures(lock, msg, report):
    from ansible_collections.dvops.charon.plugins.module_utils import _enr, _k1
    d = lock.definition
    problems = []
    sigs = lock.node_signatures
    if _minor(d.version) < 7:
        report.record("node_signatures", not sigs, ["node_signatures must be empty before v1.7"] if sigs else [])
        return
    if len(sigs) != len(d.operators):
        problems.append("%d node_signatures for %d operators" % (len(sigs), len(d.operators)))
    for k, (op, sig) in enumerate(zip(d.operators, sigs)):
        try:
            key = _enr.public_key_from_enr(op.enr)
        except Exception as exc:  # pylint: disable=broad-except
            problems.append("node_signatures[%d]: operator %d's ENR is invalid: %s" % (k, k, exc))
            continue
        if len(sig) != 65:
            problems.append("node_signatures[%d]: a signature is 65 bytes, got %d" % (k, len(sig)))
        elif not _k1.verify65(key, bytes(sig), bytes(msg)):
            problems.append("node_signatures[%d]: does not recover to operator %d's ENR key" % (k, k))
    report.record("node_signatures", not problems, problems)


def verify_lock(lock, verify_signatures=True, release=None, report=None, timings=None):
    """charon's load-time checks of a lock (§4.7) plus deposit-data checks, as a Report.

    Checks: config_hash, definition_hash, deposit_amounts, threshold, operator_enrs, num_validators,
    lock_hash, and with ``verify_signatures``: operator_signatures, creator_signature,
    public_shares, signature_aggregate, builder_registrations (v1.7+), node_signatures, and
    deposit_data (v1.6+; signatures verified only then).  ``timings`` (a dict) receives seconds per check.
    """
    import time
    report = report if report is not None else Report()
    timings = timings if timings is not None else {}
    d = lock.definition
    minor = _minor(d.version)

    def timed(name, func, *args):
        start = time.perf_counter()
        out = func(*args)
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
        return out

    def_hash = timed("hashes", verify_definition_hashes, d, report, "cluster_definition.")[1]
    timed("definition_rules", _definition_rules, d, report, "cluster_definition.")
    timed("operator_enrs", verify_operator_enrs, d, report, "cluster_definition.")
    n_dv = len(lock.distributed_validators)
    report.record("num_validators", n_dv == d.num_validators,
                  [] if n_dv == d.num_validators else
                  ["%d distributed_validators but num_validators is %d" % (n_dv, d.num_validators)])
    computed = timed("hashes", lock_hash, lock, def_hash)
    stored = bytes(lock.lock_hash)
    report.record("lock_hash", stored == computed,
                  [] if stored == computed else ["stored 0x%s, computed 0x%s" % (stored.hex(), computed.hex())])
    msg = stored if len(stored) == 32 else computed
    bls = None
    registrations, deposits = [], []
    if verify_signatures:
        timed("operator_signatures", verify_definition_signatures, d, report, release, "cluster_definition.")
        bls = _Bls()
        timed("public_shares", _verify_shares, lock, bls, report)
        timed("signature_aggregate", _verify_aggregate, lock, bls, msg, report)
        timed("node_signatures", _verify_node_signatures, lock, msg, report)
        if minor >= 7:
            registrations = timed("builder_registrations", _verify_registrations, lock, bls)
    if minor >= 6:
        deposits = timed("deposit_data", _verify_deposits, lock, bls)
    if bls is not None:
        # Registration and deposit signatures in one batch (one Miller loop per DV key).
        failed = timed("bls_batch(registrations+deposits)", bls.run)
        for check, label in failed:
            (registrations if check == "builder_registrations" else deposits).append(
                "%s: the BLS signature does not verify" % label)
    if minor >= 7 and verify_signatures:
        report.record("builder_registrations", not registrations, registrations)
    elif minor < 7 and any(dv.builder_registration is not None for dv in lock.distributed_validators):
        report.record("builder_registrations", False, ["builder registrations must be absent before v1.7"])
    if minor >= 6:
        report.record("deposit_data", not deposits, deposits)
    return report


def verify(obj, verify_signatures=True, release=None):
    """``verify_lock`` or ``verify_definition`` by type."""
    if isinstance(obj, Lock):
        return verify_lock(obj, verify_signatures, release)
    return verify_definition(obj, verify_signatures, release)
