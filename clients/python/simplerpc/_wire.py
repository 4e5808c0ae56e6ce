"""Frames of the native protocol (PROTOCOL.md), as pure functions: they
build bytes and parse bytes, and do no I/O."""

import struct

MAGIC = b"SRPC"
VERSION = 1

# Frame kinds (PROTOCOL.md §2).
CALL, REPLY, CANCEL, PING, PONG, GOAWAY, ACK, ITEM, WINDOW = 1, 2, 3, 4, 5, 6, 7, 8, 9
CALLBACK, CALLBACK_REPLY, CALLBACK_CANCEL = 10, 11, 12  # PROTOCOL.md §13

# Frame flags.
FLAG_ERROR = 1
FLAG_METADATA = 2
FLAG_FINAL = 4
FLAG_END = 1  # on an item: the client ends its half of the stream
FLAG_STREAM = 8  # on a call: it opens a stream (PROTOCOL.md §12)

# Hello flags.
HELLO_SESSION = 1
HELLO_RESUME = 2
HELLO_STREAMS = 4
HELLO_CALLBACKS = 8

# The welcome's flags.
WELCOME_RESUMED = 1
WELCOME_STREAMS = 2
WELCOME_CALLBACKS = 4

# Flow control of streams (PROTOCOL.md §12): each way a window of item
# costs, an item costing its body's bytes plus ITEM_OVERHEAD; the
# receiver reports its consumption after every REPORT_EVERY of cost.
STREAM_WINDOW = 262144
ITEM_OVERHEAD = 32
REPORT_EVERY = STREAM_WINDOW // 4
WINDOW_BODY = struct.Struct(">QQ")

WELCOME_SIZE = 11

# The frame header: body size, kind, flags, id.
HEADER = struct.Struct(">IBBQ")
HEADER_SIZE = HEADER.size

# The largest reply body the client reads, whatever the server's own limit.
MAX_REPLY = 64 << 20

# The welcome's statuses other than 0 (OK).
STATUSES = {1: "unsupported version", 2: "unknown codec", 3: "TLS required", 4: "session refused"}
STATUS_SESSION_REFUSED = 4

# A timeout field meaning "no deadline".
NO_TIMEOUT = b"\x00"

_pack_header = HEADER.pack
_unpack_header = HEADER.unpack_from


class ProtocolError(Exception):
    """The server broke the protocol; the connection cannot go on."""


def hello(codec, session_id=None, resume=False, streams=True, callbacks=False):
    """The hello a client opens a connection with."""
    name = codec.encode("ascii")
    flags = HELLO_STREAMS if streams else 0
    if callbacks:
        flags |= HELLO_CALLBACKS
    if session_id is not None:
        flags |= HELLO_SESSION
        if resume:
            flags |= HELLO_RESUME
    out = MAGIC + bytes((VERSION, flags, len(name))) + name
    if session_id is not None:
        out += session_id
    return out


def parse_welcome(b):
    """Return (status, resumed, max body) of an 11-byte welcome."""
    if len(b) != WELCOME_SIZE or b[:4] != MAGIC:
        raise ProtocolError("not a simplerpc server (welcome %r)" % (bytes(b[:16]),))
    status = b[5]
    resumed = bool(b[6] & WELCOME_RESUMED)
    (max_body,) = struct.unpack_from(">I", b, 7)
    return status, resumed, max_body


def welcome_streams(b):
    """Report whether a welcome grants streams."""
    return bool(b[6] & WELCOME_STREAMS)


def welcome_callbacks(b):
    """Report whether a welcome grants callbacks."""
    return bool(b[6] & WELCOME_CALLBACKS)


def uvarint(n):
    """n as an unsigned LEB128 varint."""
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def method_prefix(method):
    """The first field of a call body: the method name, length first."""
    name = method.encode("utf-8")
    if not 1 <= len(name) <= 1024:
        raise ValueError("a method name is 1 to 1024 bytes, not %d" % len(name))
    return uvarint(len(name)) + name


def call_body(prefix, timeout, metadata, args):
    """The flags and body of a call frame. prefix is method_prefix's
    bytes, timeout seconds or None, metadata a dict of str or None, args
    the encoded argument array (bytes, or a list of parts). The body is
    bytes, or, for a large one, a Parts list (not joined: not copied)."""
    flags = 0
    parts = [prefix, NO_TIMEOUT if timeout is None else uvarint(max(1, int(timeout * 1e6)))]
    if metadata:
        flags = FLAG_METADATA
        if len(metadata) > 64:
            raise ValueError("at most 64 metadata pairs, not %d" % len(metadata))
        parts.append(uvarint(len(metadata)))
        for k, v in metadata.items():
            for s in (str(k).encode("utf-8"), str(v).encode("utf-8")):
                parts.append(uvarint(len(s)))
                parts.append(s)
    if isinstance(args, list):
        parts.extend(args)
        return flags, Parts(parts)
    parts.append(args)
    return flags, b"".join(parts)


class Parts(list):
    """A frame or body in pieces, to be written with one sendmsg."""

    def __len__(self):
        return sum(len(p) for p in self.iter())

    def iter(self):
        return list.__iter__(self)


def frame_of(header, body):
    """header + body, joined unless body is Parts."""
    if isinstance(body, Parts):
        return Parts([header] + list(body.iter()))
    return header + body


def sendall(sock, data):
    """sock.sendall(data) for bytes, or a Parts list written with sendmsg
    (no copy), resuming after short writes."""
    if not isinstance(data, Parts):
        sock.sendall(data)
        return
    if not hasattr(sock, "sendmsg"):  # TLS: the record layer copies anyway
        sock.sendall(b"".join(data.iter()))
        return
    views = [memoryview(p).cast("B") for p in data.iter() if len(p)]
    while views:
        n = sock.sendmsg(views[:512])
        while n and views:
            if n >= len(views[0]):
                n -= len(views[0])
                views.pop(0)
            else:
                views[0] = views[0][n:]
                n = 0


def frame(kind, frame_id, body=b"", flags=0):
    """A frame without a call body: cancel, ping, pong, ack."""
    return _pack_header(len(body), kind, flags, frame_id) + body


def ack(upto, frames_read):
    """An ack of every call up to id upto, with the count of frames read."""
    return _pack_header(8, ACK, 0, upto) + struct.pack(">Q", frames_read)


def item(stream_id, body):
    """An item frame of the stream of call stream_id."""
    return _pack_header(len(body), ITEM, 0, stream_id) + body


def item_end(stream_id):
    """The item flagged end that ends the client's half of a stream."""
    return _pack_header(0, ITEM, FLAG_END, stream_id)


def window(stream_id, items, cost):
    """A window frame: the items of stream stream_id consumed so far, and
    their cost."""
    return _pack_header(WINDOW_BODY.size, WINDOW, 0, stream_id) + WINDOW_BODY.pack(items, cost)


def parse_window(body, last):
    """Return (items, cost) of a window frame's body; last is the pair
    the previous window frame of the stream carried. Counts that go back
    are a violation."""
    items, cost = WINDOW_BODY.unpack(body)
    if items < last[0] or cost < last[1]:
        raise ProtocolError("a window frame's counts went back, from %d items (cost %d) to %d (cost %d)"
                            % (last[0], last[1], items, cost))
    return items, cost


def item_cost(size):
    """What an item whose body is size bytes costs against the window."""
    return size + ITEM_OVERHEAD


def parse_uvarint(b, pos):
    """Return (value, next position) of the uvarint at b[pos:]; raise
    ProtocolError for a truncated one or one over 64 bits."""
    value = shift = 0
    end = len(b)
    while pos < end:
        byte = b[pos]
        pos += 1
        if shift == 63 and byte > 1:
            break
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            break
    raise ProtocolError("malformed uvarint in a callback frame")


def parse_callback(body):
    """Return (slot, invocation, settled, timeout in seconds or None,
    position of the arguments) of a callback frame's body (PROTOCOL.md
    §13)."""
    slot, pos = parse_uvarint(body, 0)
    inv, pos = parse_uvarint(body, pos)
    settled, pos = parse_uvarint(body, pos)
    us, pos = parse_uvarint(body, pos)
    if inv == 0 or settled >= inv:
        raise ProtocolError("callback frame with invocation %d, settled %d" % (inv, settled))
    return slot, inv, settled, (us / 1e6 if us else None), pos


def parse_invocation(body):
    """The invocation number that is a callback cancel's whole body."""
    inv, pos = parse_uvarint(body, 0)
    if inv == 0 or pos != len(body):
        raise ProtocolError("malformed callback cancel body")
    return inv


def callback_reply(call_id, invocation, body, error=False):
    """A callback reply frame: the invocation's number, then its encoded
    results array or, with error, its error object."""
    inv = uvarint(invocation)
    return _pack_header(len(inv) + len(body), CALLBACK_REPLY, FLAG_ERROR if error else 0, call_id) + inv + body


def parse_header(buf, pos, limit, streams=False, callbacks=False):
    """Return (size, kind, flags, id) of the header at buf[pos:], checked
    against what a server may send (PROTOCOL.md §2, §8); streams and
    callbacks say whether the connection's welcome granted them."""
    size, kind, flags, frame_id = _unpack_header(buf, pos)
    if size > limit:
        raise ProtocolError("the server sent a frame of %d bytes, over the limit of %d" % (size, limit))
    if callbacks and kind == CALLBACK:
        if flags:
            raise ProtocolError("callback frame with flags %#x" % flags)
        return size, kind, flags, frame_id
    if callbacks and kind == CALLBACK_CANCEL:
        if flags or not 1 <= size <= 10:
            raise ProtocolError("callback cancel frame with flags %#x or a body of %d bytes" % (flags, size))
        return size, kind, flags, frame_id
    if streams and kind == ITEM:
        if flags:
            raise ProtocolError("item frame with flags %#x (a server ends a stream with its reply)" % flags)
    elif streams and kind == WINDOW:
        if flags or size != WINDOW_BODY.size:
            raise ProtocolError("window frame with flags %#x or a body of %d bytes, not 16" % (flags, size))
    elif kind == REPLY:
        if flags & ~FLAG_ERROR:
            raise ProtocolError("reply frame with reserved flags %#x" % flags)
    elif kind in (PING, PONG):
        if flags or size:
            raise ProtocolError("%s frame with flags or a body" % ("ping" if kind == PING else "pong"))
    elif kind == GOAWAY:
        if flags & ~FLAG_FINAL:
            raise ProtocolError("go-away frame with reserved flags %#x" % flags)
    else:
        raise ProtocolError("the server sent a frame of kind %d" % kind)
    return size, kind, flags, frame_id
