"""The codecs that encode arguments and decode results: CBOR through the
cbor2 package when it is installed, JSON through the standard library
otherwise (or when asked for)."""

import base64
import datetime
import json

try:
    import cbor2 as _cbor2
except ImportError:  # the standard library alone: JSON only
    _cbor2 = None

__all__ = ["Codec", "get", "HAVE_CBOR", "default_name"]

HAVE_CBOR = _cbor2 is not None

_UTC = datetime.timezone.utc


class Codec:
    """How values travel: name is the hello's codec name, encode turns the
    argument list into bytes, decode bytes into a value. binary says
    whether bytes travel as bytes (True) or as base64 text."""

    __slots__ = ("name", "encode", "decode", "binary")

    def __init__(self, name, encode, decode, binary):
        self.name = name
        self.encode = encode
        self.decode = decode
        self.binary = binary


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


JSON = Codec("json", _json_encode, _json_decode, False)

if _cbor2 is not None:
    def _cbor_default(encoder, v):
        if isinstance(v, memoryview):
            encoder.encode(bytes(v))
            return
        raise _cbor2.CBOREncodeTypeError("Object of type %s cannot travel" % type(v).__name__)

    def _cbor_encode(args, _dumps=_cbor2.dumps):
        # Naive datetimes are taken as UTC; datetimes travel as tag 0
        # (RFC 3339 text), which Go decodes into time.Time.
        return _dumps(args, timezone=_UTC, datetime_as_timestamp=False, default=_cbor_default)

    def _cbor_decode(body, _loads=_cbor2.loads):
        return _loads(bytes(body) if isinstance(body, memoryview) else body)

    CBOR = Codec("cbor", _cbor_encode, _cbor_decode, True)
else:
    CBOR = None


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
