"""TLS over a plain socket through ssl.SSLObject and memory buffers, so
that one thread may read while others write: an ssl.SSLSocket must not be
used by two threads at once, an SSLObject is only touched under a lock
that is never held across a blocking socket call."""

import ssl
import threading

__all__ = ["TLSSocket"]

_CHUNK = 256 << 10


class TLSSocket:
    """A TLS connection over sock, with the socket methods the native
    transport uses: sendall, recv_into, settimeout, setsockopt, shutdown,
    close.

    sendall may be called by one thread at a time (the transport's write
    lock) while one other thread reads."""

    def __init__(self, sock, context, server_hostname):
        self.sock = sock
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._obj = context.wrap_bio(self._in, self._out, server_side=False, server_hostname=server_hostname)
        self._mu = threading.Lock()  # guards _obj, _in and _out; held across no socket call
        self._send_mu = threading.Lock()  # orders the records written to sock
        self._handshake()

    def _flush(self):
        """Write what the TLS object has produced, in order."""
        with self._send_mu:
            with self._mu:
                data = self._out.read()
            if data:
                self.sock.sendall(data)

    def _handshake(self):
        while True:
            with self._mu:
                try:
                    self._obj.do_handshake()
                    done = True
                except ssl.SSLWantReadError:
                    done = False
            self._flush()
            if done:
                return
            data = self.sock.recv(_CHUNK)
            if not data:
                raise ConnectionError("the server closed the connection during the TLS handshake")
            with self._mu:
                self._in.write(data)

    def sendall(self, data):
        with self._send_mu:
            with self._mu:
                self._obj.write(data)
                out = self._out.read()
            self.sock.sendall(out)

    def recv_into(self, buf, nbytes=0):
        """Read decrypted bytes into buf; 0 at the end of the stream."""
        n = nbytes or len(buf)
        while True:
            with self._mu:
                try:
                    got = self._obj.read(n, buf)
                except ssl.SSLWantReadError:
                    got = None
                except ssl.SSLZeroReturnError:
                    return 0
                pending = self._out.pending
            if pending:
                self._flush()  # a post-handshake message the reader produced
            if got is not None:
                return got
            data = self.sock.recv(_CHUNK)
            if not data:
                return 0
            with self._mu:
                self._in.write(data)

    def recv(self, n):
        buf = bytearray(n)
        return bytes(buf[:self.recv_into(buf)])

    def settimeout(self, t):
        self.sock.settimeout(t)

    def setsockopt(self, *args):
        self.sock.setsockopt(*args)

    def fileno(self):
        return self.sock.fileno()

    def shutdown(self, how):
        self.sock.shutdown(how)

    def close(self):
        self.sock.close()
