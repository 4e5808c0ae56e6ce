"""The server's description (the simplerpc.describe call,
docs/introspection.md), as dir(), help() and "did you mean" use it."""

import base64
import binascii
import datetime
import difflib
import inspect
import re

__all__ = ["Description"]


class Description:
    """What a server serves: services -> {method name: entry}, functions
    -> {name: entry}; an entry is the description's method object."""

    def __init__(self, obj):
        if not isinstance(obj, dict):
            raise ValueError("the description is not a map")
        self.services = {}
        for svc in obj.get("services") or ():
            methods = {}
            for m in svc.get("methods") or ():
                methods[m["name"].rpartition(".")[2]] = m
            self.services[svc["name"]] = methods
        self.functions = {f["name"]: f for f in obj.get("functions") or ()}
        self._converters = {}

    def converter(self, name):
        """A function that turns the results of name, as a codec decoded
        them, into the Python types of their Go types (time.Time into
        datetime; []byte and floats where JSON loses them); None when
        nothing needs turning."""
        try:
            return self._converters[name]
        except KeyError:
            pass
        e = self.entry(name)
        convs = [_CONVERT.get(r.get("go")) for r in (e.get("results") or ())] if e else []
        fn = None
        if any(convs):
            def fn(results, convs=convs):
                return [c(v) if c is not None and v is not None else v for c, v in zip(convs, results)]
        self._converters[name] = fn
        return fn

    def item_converter(self, name):
        """A function that turns one item a stream of name yields into
        the Python type of its Go type; None when nothing needs turning."""
        e = self.entry(name)
        yields = ((e or {}).get("stream") or {}).get("yields") or {}
        return _CONVERT.get(yields.get("go"))

    def entry(self, name):
        """The entry of "Service.Method" or a function, or None."""
        service, dot, meth = name.partition(".")
        if dot:
            return self.services.get(service, {}).get(meth)
        return self.functions.get(name)

    def methods_of(self, service):
        return list(self.services.get(service, ()))

    def missing(self, name):
        """None if name is served; else the message of the not_found a
        call of it would get, with a hint."""
        service, dot, meth = name.partition(".")
        if not dot:
            if name in self.functions or name in self.services:
                return None
            return "no function %s%s" % (name, _hint(name, list(self.functions) + list(self.services)))
        if service not in self.services:
            return "no service %s%s" % (service, _hint(service, list(self.services)))
        if meth in self.services[service]:
            return None
        return "service %s has no method %s%s" % (service, meth, _hint(meth, list(self.services[service])))

    def method_doc(self, name):
        e = self.entry(name)
        if e is None:
            return "simplerpc method %s (not in the server's description)" % name
        lines = ["%s: Go %s" % (name, e.get("signature", ""))]
        if e.get("structArg"):
            lines.append("Takes the struct's fields by position, or by name as keyword arguments.")
        if e.get("variadic"):
            lines.append("Variadic: the last parameter takes any number of arguments.")
        st = e.get("stream")
        if st:
            kind = st.get("kind")
            if kind in ("client", "bidi"):
                lines.append("Streams to the server: pass an iterable of Go %s as the last argument."
                             % (st.get("receives") or {}).get("go", "items"))
            if kind in ("server", "bidi"):
                lines.append("Streams from the server: returns an iterator of Go %s (leaving it early cancels "
                             "the stream)." % (st.get("yields") or {}).get("go", "items"))
        if e.get("error"):
            lines.append("Failures raise ApplicationError (or the class registered for the error's name).")
        return "\n".join(lines)

    def service_doc(self, service):
        methods = self.services.get(service)
        if methods is None:
            f = self.functions.get(service)
            if f is not None:
                return "%s: Go func %s" % (service, f.get("signature", ""))
            return "simplerpc service %s (not in the server's description)" % service
        return "simplerpc service %s:\n%s" % (service, "\n".join(
            "    %s" % m.get("signature", n) for n, m in sorted(methods.items())))

    def signature(self, name):
        """An inspect.Signature naming the Go parameter types."""
        e = self.entry(name)
        if e is None:
            return None
        params = []
        ps = e.get("params") or []
        for i, p in enumerate(ps):
            kind = inspect.Parameter.POSITIONAL_ONLY
            go = p.get("go", "")
            if e.get("variadic") and i == len(ps) - 1:
                kind = inspect.Parameter.VAR_POSITIONAL
                go = go[2:] if go.startswith("[]") else go
            params.append(inspect.Parameter("arg%d" % i, kind, annotation=go))
        st = e.get("stream") or {}
        if st.get("kind") in ("client", "bidi"):
            params.append(inspect.Parameter("stream", inspect.Parameter.POSITIONAL_ONLY,
                                            annotation="Iterable[%s]" % (st.get("receives") or {}).get("go", "")))
        results = [r.get("go", "") for r in e.get("results") or []]
        if st.get("kind") in ("server", "bidi"):
            results = ["Iterator[%s]" % (st.get("yields") or {}).get("go", "")]
        ret = inspect.Signature.empty if not results else (results[0] if len(results) == 1 else "(%s)" % ", ".join(results))
        return inspect.Signature(params, return_annotation=ret)


def _hint(name, known):
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not close:
        lower = {k.lower(): k for k in known}
        if name.lower() in lower:
            close = [lower[name.lower()]]
    return " (did you mean %s?)" % close[0] if close else ""


_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def _to_datetime(v):
    """RFC 3339 text, as Go writes a time.Time, as a datetime (to the
    microsecond: Python's precision)."""
    if isinstance(v, datetime.datetime) or not isinstance(v, str):
        return v
    m = _RFC3339.match(v)
    if not m:
        return v
    frac = (m.group(2) or "")[:6].ljust(6, "0")
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        return datetime.datetime.fromisoformat("%s.%s%s" % (m.group(1), frac, zone))
    except ValueError:
        return v


def _to_bytes(v):
    if isinstance(v, str):
        try:
            return base64.b64decode(v, validate=True)
        except (binascii.Error, ValueError):
            return v
    return v


def _to_float(v):
    return float(v) if isinstance(v, int) and not isinstance(v, bool) else v


# The conversion of a result by its Go type (as reflect prints it).
_CONVERT = {
    "time.Time": _to_datetime,
    "*time.Time": _to_datetime,
    "[]uint8": _to_bytes,
    "float64": _to_float,
    "float32": _to_float,
}
