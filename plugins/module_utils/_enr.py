# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Ethereum Node Records, libp2p peer IDs and peer names exactly as charon makes them
(charon-formats.md §1: ``eth2util/enr``, ``p2p/peer.go``, ``p2p/name.go``, ``app/k1util``).

* ``node_record(private_key)``: the text ``charon create enr`` / ``charon enr`` prints
  (seq 0, only ``id=v4`` and ``secp256k1``, RFC 6979 signature without V, unpadded base64url).
* ``parse(text)`` / ``enr_info(text)``: charon's parser rules (``enr.Parse``): ``enr:`` prefix,
  trailing ``=`` stripped (charon <= v0.9 padded), >= 4 elements, even count, no duplicate
  keys, ``id`` (when present) ``v4``, ``secp256k1`` required and a valid point (33 or 65 bytes,
  as decred parses it); signature checked over the re-encoded elements as received, so any
  seq and extra keys are accepted, and high-S signatures verify (decred does not reject them).
  RLP itself is decoded strictly (canonical forms only, see ``_rlp``).
* ``peer_id(pubkey33)`` and ``peer_name(peer_id)``.
* ``load_private_key_file(path)``: ``k1util.Load`` (TrimSpace, then hex; no ``0x``).

secp256k1 and keccak come from ``_k1`` (coincurve / pycryptodome, imported lazily).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re

from ansible_collections.dvops.charon.plugins.module_utils import _deps, _files, _k1, _rlp

PREFIX = "enr:"
KEY_FILE_NAME = "charon-enr-private-key"

_B64URL = re.compile(r"\A[A-Za-z0-9_-]*\Z")
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

# p2p/name.go, used exactly as charon has them (note "pen" twice).
NOUNS = (
    "adult", "age", "amount", "area", "back", "bed", "blood", "body", "book", "box", "boy", "bulb",
    "bunch", "business", "camera", "chicken", "child", "chocolates", "city", "clothes", "colony",
    "colors", "company", "computer", "continent", "council", "country", "course", "cycle", "dates",
    "day", "death", "desk", "door", "egg", "face", "fact", "factory", "family", "farm", "farmer",
    "father", "fish", "floor", "flowers", "food", "fridge", "future", "game", "garden", "gas",
    "glass", "group", "health", "hill", "hospital", "idea", "image", "industry", "island",
    "jewelry", "job", "kitchen", "land", "law", "leaves", "leg", "letter", "life", "magazine",
    "market", "metal", "mirror", "mobile", "money", "morning", "mother", "mountain", "movie",
    "name", "nest", "news", "ocean", "oil", "painter", "park", "party", "pen", "pen", "pencil",
    "person", "picture", "pillow", "place", "plant", "pond", "rain", "rate", "result", "ring",
    "road", "rock", "rocket", "room", "rope", "rule", "sale", "school", "shape", "shapes", "ship",
    "shop", "sister", "site", "skin", "snacks", "son", "song", "sort", "sound", "soup", "sports",
    "state", "stone", "street", "system", "taxi", "tea", "teacher", "team", "toy", "tractor",
    "trade", "train", "video", "view", "water", "waterfall", "week", "women", "wood", "word",
    "year", "yesterday",
)

ADJECTIVES = (
    "adorable", "adventurous", "affectionate", "aggressive", "agreeable", "alert", "alive",
    "amazing", "amiable", "ample", "amused", "angry", "annoyed", "anxious", "ashamed", "attractive",
    "average", "beautiful", "better", "bewildered", "black", "blushing", "bored", "bountiful",
    "brainy", "brave", "bright", "busy", "calm", "captivating", "careful", "cautious", "charming",
    "cheerful", "clear", "clever", "cloudy", "colorful", "combative", "comfortable", "confused",
    "considerate", "cooperative", "courageous", "crazy", "crowded", "cruel", "curious", "cute",
    "dangerous", "dark", "defiant", "dazzling", "delightful", "determined", "different", "distinct",
    "eager", "easy", "elated", "elegant", "embarrassed", "enchanting", "encouraging", "energetic",
    "engaging", "engrossing", "enthusiastic", "excited", "expensive", "exuberant", "fabulous",
    "fair", "faithful", "famous", "fancy", "fantastic", "favorable", "fearless", "fierce", "fine",
    "foolish", "fragile", "frank", "frantic", "friendly", "funny", "gentle", "gifted", "glamorous",
    "gleaming", "glittering", "glorious", "good", "gorgeous", "graceful", "gregarious", "grotesque",
    "handsome", "happy", "healthy", "helpful", "helpless", "hilarious", "homely", "hungry", "hurt",
    "imaginative", "important", "impossible", "incredible", "inexpensive", "innocent",
    "inquisitive", "jealous", "jittery", "jolly", "joyous", "kind", "lazy", "light", "lively",
    "long", "lovely", "lucky", "magnificent", "mindful", "misty", "modern", "motionless", "muddy",
    "mysterious", "nervous", "nice", "obedient", "odd", "open", "optimistic", "outrageous",
    "outstanding", "perfect", "plain", "pleasant", "poised", "powerful", "precious", "prickly",
    "proud", "puzzled", "quaint", "ravishing", "real", "relieved", "reliable", "remarkable", "rich",
    "scary", "selfish", "shiny", "shy", "sleepy", "smiling", "sore", "sparkling", "spectacular",
    "splendid", "spotless", "stormy", "strange", "successful", "super", "talented", "tasty",
    "tender", "tense", "thankful", "thoughtful", "tired", "tough", "twinkling", "unique",
    "unsightly", "unusual", "vast", "vibrant", "victorious", "vivacious", "wandering", "wild",
    "wise", "witty", "wondrous", "worried", "wrong", "zany", "zealous",
)


class EnrError(ValueError):
    """A string is not a valid ENR (the message says why), or a key file cannot be used."""


# --- peer id / peer name --------------------------------------------------------------------

def _b58encode(data):
    num = int.from_bytes(data, "big")
    out = ""
    while num:
        num, rem = divmod(num, 58)
        out = _B58_ALPHABET[rem] + out
    # Leading zero bytes become leading '1's (bitcoin base58).
    pad = len(data) - len(data.lstrip(b"\x00"))
    return "1" * pad + out


def peer_id(public_key33):
    """libp2p peer ID (``16Uiu2HA...``: m or k follows) of a 33-byte compressed secp256k1 key.

    Identity multihash (0x00, len 37) of the protobuf PublicKey{Type: Secp256k1, Data: key}.
    """
    public_key33 = bytes(public_key33)
    if len(public_key33) != 33:
        raise EnrError("a peer ID needs a 33-byte compressed public key, got %d bytes" % len(public_key33))
    proto = b"\x08\x02\x12\x21" + public_key33
    return _b58encode(b"\x00" + bytes([len(proto)]) + proto)


def peer_name(peer_id_text):
    """charon's two-word name of a peer ID (polynomial hash of the base58 characters)."""
    h, p_pow, m = 0, 1, 1000000007
    for c in peer_id_text:
        h = (h + ord(c) * p_pow) % m
        p_pow = (p_pow * 59) % m
    return ADJECTIVES[h % len(ADJECTIVES)] + "-" + NOUNS[h % len(NOUNS)]


def node_id(public_key33):
    """EIP-778 v4 node id: keccak256 of the uncompressed key without its 0x04 prefix."""
    uncompressed = _deps.require("coincurve").PublicKey(bytes(public_key33)).format(compressed=False)
    return _k1.keccak256(uncompressed[1:])


# --- encoding -------------------------------------------------------------------------------

def _content(seq, pairs):
    content = [_rlp.int_to_bytes(seq)]
    for key in sorted(pairs, key=lambda k: k.encode() if isinstance(k, str) else bytes(k)):
        content.append(key.encode() if isinstance(key, str) else bytes(key))
        content.append(pairs[key])
    return content


def encode(private_key, seq=0, extra=None):
    """Signed ENR text for ``private_key``: ``id=v4``, ``secp256k1`` plus ``extra`` pairs (bytes values).

    ``extra`` exists for tests and relays (ip/tcp/udp); charon nodes use none, with seq 0.
    """
    pairs = {"id": b"v4", "secp256k1": _k1.public_key(private_key)}
    for key, value in (extra or {}).items():
        pairs[key] = value
    content = _content(seq, pairs)
    digest = _k1.keccak256(_rlp.encode_list(content))
    sig64 = _k1.sign(private_key, digest)[:64]
    record = _rlp.encode_list([sig64] + content)
    return PREFIX + base64.urlsafe_b64encode(record).rstrip(b"=").decode("ascii")


def node_record(private_key):
    """What ``charon enr`` prints for this key (without the newline)."""
    return encode(private_key)


# --- decoding -------------------------------------------------------------------------------

def _b64_decode(text):
    body = text[len(PREFIX):].rstrip("=")
    # Go's decoder skips CR/LF inside the input; everything else must be in the URL alphabet.
    body = body.replace("\r", "").replace("\n", "")
    if not body:
        raise EnrError("the record after 'enr:' is empty")
    if not _B64URL.match(body):
        bad = sorted(set(re.sub(r"[A-Za-z0-9_-]", "", body)))
        raise EnrError("invalid base64url: character(s) %s are not in the URL-safe alphabet (A-Z a-z 0-9 - _)"
                       % ", ".join(repr(c) for c in bad))
    if len(body) % 4 == 1:
        raise EnrError("invalid base64url: %d characters cannot encode whole bytes" % len(body))
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise EnrError("invalid base64url: %s" % exc)


def _record_public_key(raw):
    """33-byte key from the ``secp256k1`` value, accepted as decred's ParsePubKey does (33 or 65 bytes)."""
    if isinstance(raw, list):
        raise EnrError("invalid secp256k1 key: the value is a list, not a byte string")
    if not (len(raw) == 33 and raw[:1] in (b"\x02", b"\x03")) and not (len(raw) == 65 and raw[:1] == b"\x04"):
        raise EnrError("invalid secp256k1 key: expected a 33-byte compressed (02/03) or 65-byte uncompressed (04) point, "
                       "got %d bytes starting 0x%s" % (len(raw), raw[:1].hex()))
    try:
        return _k1.parse_public_key(raw)
    except _k1.K1Error:
        raise EnrError("invalid secp256k1 key: 0x%s is not a point on the curve" % raw.hex())


def _low_s(sig64):
    """charon verifies with decred's ECDSA, which accepts high-S signatures; libsecp256k1 does not.

    (r, N - s) verifies exactly when (r, s) does, so flipping a high S gives charon's answer.
    """
    s_int = int.from_bytes(sig64[32:], "big")
    if _k1.SECP256K1_N // 2 < s_int < _k1.SECP256K1_N:
        return sig64[:32] + (_k1.SECP256K1_N - s_int).to_bytes(32, "big")
    return sig64


def parse(text):
    """Decode and check an ENR by charon's rules.

    Returns a dict with ``signature`` (bytes), ``seq`` (int), ``pairs`` (key str -> raw value,
    insertion order as received), ``public_key`` (33 bytes) and ``signature_valid`` (bool).
    Raises ``EnrError`` naming the broken rule.  A bad signature is not an error here; callers
    that need charon's strict behaviour check ``signature_valid``.
    """
    if not isinstance(text, str):
        raise EnrError("an ENR is a string, got %s" % type(text).__name__)
    text = text.strip()
    if not text.startswith(PREFIX):
        raise EnrError("missing 'enr:' prefix: an ENR starts with 'enr:', got %r" % (text[:8] + ("..." if len(text) > 8 else "")))
    raw = _b64_decode(text)
    try:
        elements = _rlp.decode_list(raw)
    except _rlp.RlpError as exc:
        raise EnrError("invalid RLP structure: %s" % exc)
    if len(elements) < 4:
        raise EnrError("invalid RLP structure: a record has at least 4 elements (signature, seq, key, value), got %d"
                       % len(elements))
    if len(elements) % 2:
        raise EnrError("odd number of RLP elements (%d): every key needs a value" % len(elements))
    signature, seq_raw = elements[0], elements[1]
    if isinstance(signature, list):
        raise EnrError("invalid RLP structure: the signature is a list, not a byte string")
    if isinstance(seq_raw, list):
        raise EnrError("invalid RLP structure: seq is a list, not an integer")
    # charon never interprets seq (it only signs it back), so any length is accepted.
    seq = int.from_bytes(seq_raw, "big")

    pairs, seen = {}, set()
    for i in range(2, len(elements), 2):
        key_raw, value = elements[i], elements[i + 1]
        if isinstance(key_raw, list):
            raise EnrError("invalid RLP structure: key #%d is a list, not a byte string" % (i // 2))
        # charon compares keys as raw bytes (Go strings); text is only for display.
        key = key_raw.decode("utf-8", "backslashreplace")
        if key_raw in seen:
            raise EnrError("duplicate key %r" % key)
        seen.add(key_raw)
        pairs[key] = value

    # Same order as charon's enr.Parse: identity scheme, then the key, then the signature.
    if "id" in pairs and pairs["id"] != b"v4":
        shown = "a list" if isinstance(pairs["id"], list) else repr(pairs["id"].decode("utf-8", "backslashreplace"))
        raise EnrError("unsupported identity scheme: id is %s, not 'v4'" % shown)
    if "secp256k1" not in pairs:
        raise EnrError("the record has no 'secp256k1' key (charon requires one)")
    public_key33 = _record_public_key(pairs["secp256k1"])

    digest = _k1.keccak256(_rlp.encode_list(elements[1:]))
    valid = len(signature) == 64 and _k1.verify64(public_key33, _low_s(signature), digest)
    return {
        "signature": signature,
        "seq": seq,
        "pairs": pairs,
        "public_key": public_key33,
        "signature_valid": bool(valid),
    }


def _port(pairs, key):
    value = pairs.get(key)
    if value is None:
        return None
    if isinstance(value, list) or len(value) > 2:
        raise EnrError("invalid %s: a port is at most 2 bytes" % key)
    return int.from_bytes(value, "big")


def _ip(pairs):
    value = pairs.get("ip")
    if value is None:
        return None
    # Go's net.IP prints both lengths, so a 16-byte value is shown rather than refused.
    if isinstance(value, list) or len(value) not in (4, 16):
        raise EnrError("invalid ip: an address is 4 (or 16) bytes, got %s"
                       % ("a list" if isinstance(value, list) else "%d" % len(value)))
    addr = ipaddress.ip_address(bytes(value))
    return str(getattr(addr, "ipv4_mapped", None) or addr)   # Go prints ::ffff:a.b.c.d as a.b.c.d


def enr_info(text):
    """Plain dict describing an ENR (the ``dvops.charon.enr_info`` filter)."""
    rec = parse(text)
    pairs = rec["pairs"]
    pid = peer_id(rec["public_key"])
    id_value = pairs.get("id")
    return {
        "seq": rec["seq"],
        "id": None if id_value is None else id_value.decode("utf-8"),
        "public_key": "0x" + rec["public_key"].hex(),
        "ip": _ip(pairs),
        "tcp": _port(pairs, "tcp"),
        "udp": _port(pairs, "udp"),
        "peer_id": pid,
        "peer_name": peer_name(pid),
        "signature_valid": rec["signature_valid"],
    }


def public_key_from_enr(text, verify=False):
    """33-byte compressed secp256k1 key of an ENR.

    The structure is always checked.  ``verify=True`` also requires a valid signature, as
    charon's ``enr.Parse`` does (test vectors with filler signatures need the default).
    """
    rec = parse(text)
    if verify and not rec["signature_valid"]:
        raise EnrError("invalid signature: the record is not signed by its own secp256k1 key")
    return rec["public_key"]


def peer_id_from_enr(text, verify=False):
    """libp2p peer ID of an ENR (``verify`` as in ``public_key_from_enr``)."""
    return peer_id(public_key_from_enr(text, verify=verify))


# --- key file -------------------------------------------------------------------------------

def parse_private_key_text(content, where="the key"):
    """k1util.Load on file content (bytes or str): TrimSpace, then hex of 32 bytes; no ``0x``.

    Error messages name ``where`` and what is wrong, never the content itself.
    """
    if isinstance(content, bytes):
        try:
            content = content.decode("ascii")
        except UnicodeDecodeError:
            raise EnrError("%s is not a hex secp256k1 private key: it contains non-ASCII bytes" % where)
    text = content.strip()
    if not text:
        raise EnrError("%s is empty" % where)
    if text[:2] in ("0x", "0X"):
        raise EnrError("%s starts with '0x'; charon expects bare hex (64 characters, no 0x)" % where)
    if not re.match(r"\A[0-9a-fA-F]*\Z", text):
        raise EnrError("%s is not a hex secp256k1 private key: it contains non-hex characters" % where)
    if len(text) != 64:
        raise EnrError("%s holds %d hex characters; a secp256k1 private key is 64" % (where, len(text)))
    try:
        return _k1.parse_private_key(bytes.fromhex(text))
    except _k1.K1Error as exc:
        raise EnrError("%s is not usable: %s" % (where, exc))


def load_private_key_file(path):
    """Read ``<data-dir>/charon-enr-private-key`` like charon; raise EnrError naming the path."""
    # Never through a link, never blocking on a FIFO (_files.read_regular); a key file is 64 bytes.
    try:
        content = _files.read_regular(path, max_bytes=4096)
    except _files.UnsafePath as exc:
        raise EnrError("%s; it is left untouched" % exc)
    except OSError as exc:
        raise EnrError("cannot read %s: %s" % (path, exc.strerror or exc))
    return parse_private_key_text(content, where=path)


def format_private_key(private_key):
    """File content charon writes: 64 lowercase hex characters, no 0x, no newline."""
    return bytes(private_key).hex().encode("ascii")
