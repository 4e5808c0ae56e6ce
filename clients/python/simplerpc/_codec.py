"""The codecs that encode arguments and decode results: CBOR through the
cbor2 package when it is installed, JSON through the standard library
otherwise (or when asked for)."""

import base64
import datetime
import json
import struct

try:
    import cbor2 as _cbor2  # type: ignore[import]
except ImportError:  # the standard library alone: JSON only
    _cbor2 = None

__all__ = ["Codec", "get", "HAVE_CBOR", "default_name"]

HAVE_CBOR = _cbor2 is not None

_UTC = datetime.timezone.utc


class Codec:
    """How values travel: name is the hello's codec name, encode turns the
    argument list into bytes, decode bytes into a value. binary says
    whether bytes travel as bytes (True) or as base64 text.
    encode_item turns one value (a stream's item) into bytes."""

    __slots__ = ("name", "encode", "decode", "binary", "encode_item")

    def __init__(self, name, encode, decode, binary, encode_item):
        self.name = name
        self.encode = encode
        self.decode = decode
        self.binary = binary
        self.encode_item = encode_item


def _json_default(v):
    """What json cannot write: bytes as base64 (as Go's []byte travels),
    datetime as RFC 3339 text (as Go's time.Time travels)."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=_UTC)
        return v.isoformat()
    if isinstance(v, datetime.date):
        return v.isoformat()
    raise TypeError("Object of type %s cannot travel" % type(v).__name__)


def _json_encode(args, _dumps=json.JSONEncoder(default=_json_default, allow_nan=False,
                                                 ensure_ascii=False, separators=(",", ":")).encode):
    return _dumps(args if isinstance(args, list) else list(args)).encode("utf-8")


def _json_decode(body, _loads=json.loads):
    return _loads(body.decode("utf-8") if isinstance(body, (bytes, bytearray, memoryview)) else body)


def _json_encode_item(v, _dumps=json.JSONEncoder(default=_json_default, allow_nan=False,
                                                  ensure_ascii=False, separators=(",", ":")).encode):
    return _dumps(v).encode("utf-8")


JSON = Codec("json", _json_encode, _json_decode, False, _json_encode_item)

# Byte strings at least this long skip cbor2, whose C encoder and decoder
# copy them several times: the codec writes their head itself and keeps
# the bytes as they are (encoding), or slices them out of the body
# (decoding).
_BIG = 64 << 10


class BytesReply:
    """A CBOR reply body [byte string] that the reader split while reading
    it (_session): value is the string, read straight into its own bytes
    object; len is the whole body's size."""

    __slots__ = ("value", "size")

    def __init__(self, value, size):
        self.value = value
        self.size = size

    def __len__(self):
        return self.size


# The most bytes bytes_reply_head reads: an array head, then a byte
# string's head with an 8-byte length.
BYTES_REPLY_HEAD = 10


def bytes_reply_head(b, pos, size):
    """The size of the heads of a CBOR body of size bytes at b[pos:] that
    is an array of one byte string running to the body's end; 0 for any
    other body. b must hold min(size, BYTES_REPLY_HEAD) bytes at pos."""
    if size < BYTES_REPLY_HEAD or b[pos] != 0x81 or b[pos + 1] >> 5 != 2:
        return 0
    info = b[pos + 1] & 31
    if info < 24:
        n, heads = info, 2
    elif info <= 27:
        w = 1 << (info - 24)
        n, heads = int.from_bytes(b[pos + 2:pos + 2 + w], "big"), 2 + w
    else:
        return 0  # an indefinite length, or malformed: cbor2 reads it
    return heads if heads + n == size else 0


def _cbor_head(major, n):
    """The head of a CBOR item of major type major and argument n."""
    if n < 24:
        return bytes((major << 5 | n,))
    if n < 1 << 8:
        return bytes((major << 5 | 24, n))
    if n < 1 << 16:
        return bytes((major << 5 | 25,)) + n.to_bytes(2, "big")
    if n < 1 << 32:
        return bytes((major << 5 | 26,)) + n.to_bytes(4, "big")
    return bytes((major << 5 | 27,)) + n.to_bytes(8, "big")


def _cbor_read_head(b, pos):
    """(major type, argument, position after the head) of the item at
    b[pos], for definite lengths; None for anything else."""
    ib = b[pos]
    major, info = ib >> 5, ib & 31
    if info < 24:
        return major, info, pos + 1
    if info > 27:
        return None
    size = 1 << (info - 24)
    if pos + 1 + size > len(b):
        return None
    return major, int.from_bytes(b[pos + 1:pos + 1 + size], "big"), pos + 1 + size


_SMALL_INTS = [bytes((i,)) for i in range(24)]
_SMALL_ARRAYS = [bytes((0x80 | i,)) for i in range(24)]
_pack_double = struct.Struct(">d").pack


def _cbor_flat(args):
    """The CBOR of an argument list of plain scalars (int, str, bytes under
    64 KiB, float, bool, None), written here: cbor2 makes an encoder
    object for every dumps, several times the cost for a few numbers.
    None when args holds anything else."""
    n = len(args)
    out = [_SMALL_ARRAYS[n] if n < 24 else _cbor_head(4, n)]
    for a in args:
        t = type(a)
        if t is int:
            if 0 <= a < 24:
                out.append(_SMALL_INTS[a])
            elif 0 <= a < 1 << 64:
                out.append(_cbor_head(0, a))
            elif -(1 << 64) <= a < 0:
                out.append(_cbor_head(1, -1 - a))
            else:
                return None
        elif t is str:
            b = a.encode("utf-8")
            out.append(_cbor_head(3, len(b)))
            out.append(b)
        elif t is float:
            out.append(b"\xfb" + _pack_double(a))
        elif a is None:
            out.append(b"\xf6")
        elif a is True:
            out.append(b"\xf5")
        elif a is False:
            out.append(b"\xf4")
        elif t is bytes and len(a) < _BIG:
            out.append(_cbor_head(2, len(a)))
            out.append(a)
        else:
            return None
    return b"".join(out)


if _cbor2 is not None:
    def _cbor_default(encoder, v):
        if isinstance(v, memoryview):
            encoder.encode(bytes(v))
            return
        raise _cbor2.CBOREncodeTypeError("Object of type %s cannot travel" % type(v).__name__)

    def _cbor_encode(args, _dumps=_cbor2.dumps):
        """The argument array: bytes, or a list of parts when it holds
        large byte strings (kept as they are, not copied)."""
        small = _cbor_flat(args)
        if small is not None:
            return small
        # Naive datetimes are taken as UTC; datetimes travel as tag 0
        # (RFC 3339 text), which Go decodes into time.Time.
        for a in args:
            if isinstance(a, (bytes, bytearray, memoryview)) and len(a) >= _BIG:
                break
        else:
            return _dumps(args, timezone=_UTC, datetime_as_timestamp=False, default=_cbor_default)
        parts = [_cbor_head(4, len(args))]
        for a in args:
            if isinstance(a, (bytes, bytearray, memoryview)) and len(a) >= _BIG:
                a = memoryview(a).cast("B")
                parts.append(_cbor_head(2, len(a)))
                parts.append(a)
            else:
                parts.append(_dumps(a, timezone=_UTC, datetime_as_timestamp=False, default=_cbor_default))
        return parts

    def _cbor_decode(body, _loads=_cbor2.loads):
        n = len(body)
        if 2 <= n <= 10 and body[0] == 0x81 and body[1] < 0x3C:  # [an integer]: the commonest reply
            ib = body[1]
            info = ib & 31
            size = 0 if info < 24 else 1 << (info - 24)
            if info < 28 and n == 2 + size:
                v = info if info < 24 else int.from_bytes(body[2:], "big")
                return [v if ib < 0x20 else -1 - v]
        if len(body) >= _BIG:
            if type(body) is BytesReply:
                return [body.value]
            out = _cbor_split_bytes(body)
            if out is not None:
                return out
        return _loads(bytes(body) if isinstance(body, memoryview) else body)

    def _cbor_split_bytes(body):
        """An array of definite byte strings, sliced out of body without
        cbor2; None when body is anything else."""
        head = _cbor_read_head(body, 0)
        if head is None or head[0] != 4:
            return None
        _, n, pos = head
        view = memoryview(body)
        out = []
        for _ in range(n):
            if pos >= len(body):
                return None
            head = _cbor_read_head(body, pos)
            if head is None or head[0] != 2 or head[2] + head[1] > len(body):
                return None
            out.append(bytes(view[head[2]:head[2] + head[1]]))
            pos = head[2] + head[1]
        return out if pos == len(body) else None

    def _cbor_encode_item(v, _dumps=_cbor2.dumps):
        if isinstance(v, memoryview):
            v = bytes(v)
        return _dumps(v, timezone=_UTC, datetime_as_timestamp=False, default=_cbor_default)

    CBOR = Codec("cbor", _cbor_encode, _cbor_decode, True, _cbor_encode_item)
else:
    CBOR = None  # type: ignore[assignment]


def default_name():
    """The codec a client uses unless told: cbor when cbor2 is installed."""
    return "cbor" if HAVE_CBOR else "json"


def get(name):
    """The codec called name ("cbor", "json", or None for the default)."""
    if name is None:
        name = default_name()
    if name == "json":
        return JSON
    if name == "cbor":
        if CBOR is None:
            raise ValueError("codec cbor needs the cbor2 package (Debian: python3-cbor2); "
                             "without it use codec=\"json\"")
        return CBOR
    raise ValueError("codec must be \"cbor\" or \"json\", not %r" % (name,))
