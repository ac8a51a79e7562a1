#!/usr/bin/python3
"""check_metrics.py - Chopin's GET /metrics checked against the Prometheus
text exposition format, version 0.0.4, by a parser Chopin does not share.

The strict parser below is written from the format's description
(prometheus.io, "Exposition formats", text format details): line grammar,
metric and label name syntax, label value and HELP escaping, float values as
Go's strconv.ParseFloat reads them, int64 timestamps, one HELP and one TYPE
per family and both before its samples, families as uninterrupted groups,
unique series, and the histogram/summary rules (le/quantile labels, buckets
in increasing order with cumulative counts, a +Inf bucket equal to _count,
_sum and _count present). When Debian's python3-prometheus-client is
importable, prometheus_client's own parser must read the same text without
error and find the same samples.

Modes (standard library only; run with Debian's /usr/bin/python3):
  --self-test                      valid and invalid snippets: each invalid
                                   one must be rejected (for the expected
                                   reason), each valid one accepted
  --server-bin PATH --workdir DIR  end to end: start the demo, scrape,
                                   send a known mix of requests, scrape
                                   again, check both texts and the deltas
  --file PATH                      check one saved exposition text
  --split-writes                   (end to end) send each request's head and
                                   body in two writes, as http.client does;
                                   by default they go in one (see
                                   OneWriteHTTPConnection for why)

Exit status: 0 when every check passed, 1 when one failed, 2 on bad usage.
"""

import argparse
import http.client
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

# --- The strict parser ---------------------------------------------------------------------------

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TOKEN = re.compile(r"[^ \t]+")
# Go's strconv.ParseFloat: decimal, hexadecimal with a mandatory p exponent,
# Inf/Infinity with an optional sign and NaN, the last two in any case.
DEC_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
HEX_FLOAT = re.compile(
    r"[+-]?0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+")
INF_FLOAT = re.compile(r"[+-]?(?:inf|infinity)", re.IGNORECASE)
NAN_FLOAT = re.compile(r"nan", re.IGNORECASE)
INT64 = re.compile(r"[+-]?[0-9]+")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
# Sample names a histogram or summary family x owns besides x itself.
CHILD_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}
BLANKS = " \t"


class ParseError(Exception):
    """The text is not valid exposition format 0.0.4."""


class CheckError(Exception):
    """An end-to-end expectation did not hold."""


class Sample:
    __slots__ = ("name", "labels", "value", "timestamp", "line")

    def __init__(self, name, labels, value, timestamp, line):
        self.name, self.labels, self.value = name, labels, value
        self.timestamp, self.line = timestamp, line


class Family:
    __slots__ = ("name", "type", "typed", "help", "samples", "series")

    def __init__(self, name):
        self.name = name
        self.type = "untyped"
        self.typed = False  # a TYPE line was given
        self.help = None
        self.samples = []
        self.series = {}  # (sample name, labels) -> line


class Exposition:
    def __init__(self, families):
        self.families = families  # name -> Family, in order of appearance

    @property
    def samples(self):
        return [s for f in self.families.values() for s in f.samples]


def _skip_blanks(line, pos):
    while pos < len(line) and line[pos] in BLANKS:
        pos += 1
    return pos


def parse_float(token):
    """A float as Go's strconv.ParseFloat reads it; None when it does not."""
    if DEC_FLOAT.fullmatch(token):
        value = float(token)
        return None if math.isinf(value) else value  # out of range: ParseFloat's ErrRange
    if HEX_FLOAT.fullmatch(token):
        try:
            return float.fromhex(token)
        except OverflowError:
            return None
    if INF_FLOAT.fullmatch(token):
        return -math.inf if token.startswith("-") else math.inf
    if NAN_FLOAT.fullmatch(token):
        return math.nan
    return None


def _unescape_help(text, lineno):
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt not in ("\\", "n"):
                raise ParseError(f"line {lineno}: invalid escape sequence '\\{nxt}' in HELP "
                                 "(only \\\\ and \\n)")
            out.append("\\" if nxt == "\\" else "\n")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _parse_labels(line, pos, lineno):
    """Labels from just after '{' to just after '}': (dict, position)."""
    labels = {}
    while True:
        pos = _skip_blanks(line, pos)
        if pos >= len(line):
            raise ParseError(f"line {lineno}: label set not closed by '}}'")
        if line[pos] == "}":  # empty set, or after a trailing comma
            return labels, pos + 1
        token = re.compile(r'[^=\s,}"]*').match(line, pos).group()
        if not LABEL_NAME.fullmatch(token):
            raise ParseError(f"line {lineno}: invalid label name {token!r} "
                             "(must match [a-zA-Z_][a-zA-Z0-9_]*)")
        if token.startswith("__"):
            raise ParseError(f"line {lineno}: label name {token!r} is reserved (leading __)")
        if token in labels:
            raise ParseError(f"line {lineno}: duplicate label name {token!r} in one sample")
        pos = _skip_blanks(line, pos + len(token))
        if pos >= len(line) or line[pos] != "=":
            raise ParseError(f"line {lineno}: expected '=' after label name {token!r}")
        pos = _skip_blanks(line, pos + 1)
        if pos >= len(line) or line[pos] != '"':
            raise ParseError(f"line {lineno}: label {token!r}: value must be in double quotes")
        pos += 1
        value = []
        while True:
            if pos >= len(line):
                raise ParseError(f"line {lineno}: label {token!r}: value not closed by '\"'")
            c = line[pos]
            if c == "\\":
                nxt = line[pos + 1] if pos + 1 < len(line) else ""
                if nxt not in ("\\", '"', "n"):
                    raise ParseError(f"line {lineno}: label {token!r}: invalid escape sequence "
                                     f"'\\{nxt}' (only \\\\, \\\" and \\n)")
                value.append("\n" if nxt == "n" else nxt)
                pos += 2
            elif c == '"':
                pos += 1
                break
            else:
                value.append(c)
                pos += 1
        labels[token] = "".join(value)
        pos = _skip_blanks(line, pos)
        if pos < len(line) and line[pos] == ",":
            pos += 1
        elif pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        else:
            got = repr(line[pos]) if pos < len(line) else "end of line"
            raise ParseError(f"line {lineno}: expected ',' or '}}' after label {token!r}, "
                             f"got {got}")


def _parse_sample_line(line, lineno):
    pos = _skip_blanks(line, 0)
    m = METRIC_NAME.match(line, pos)
    end = TOKEN.match(line, pos).group()
    if not m or (m.end() < len(line) and line[m.end()] not in BLANKS + "{"):
        raise ParseError(f"line {lineno}: invalid metric name in {end!r} "
                         "(must match [a-zA-Z_:][a-zA-Z0-9_:]*)")
    name, pos = m.group(), m.end()
    after = _skip_blanks(line, pos)
    labels = {}
    if after < len(line) and line[after] == "{":
        labels, pos = _parse_labels(line, after + 1, lineno)
    pos = _skip_blanks(line, pos)
    tok = TOKEN.match(line, pos) if pos < len(line) else None
    if not tok:
        raise ParseError(f"line {lineno}: sample {name} has no value")
    value = parse_float(tok.group())
    if value is None:
        raise ParseError(f"line {lineno}: sample {name}: value {tok.group()!r} is not a float "
                         "(Go ParseFloat syntax, NaN, +Inf, -Inf)")
    pos = _skip_blanks(line, tok.end())
    timestamp = None
    if pos < len(line):
        ts = TOKEN.match(line, pos)
        if not INT64.fullmatch(ts.group()) or not -(2**63) <= int(ts.group()) < 2**63:
            raise ParseError(f"line {lineno}: sample {name}: timestamp {ts.group()!r} "
                             "is not an int64")
        timestamp = int(ts.group())
        pos = _skip_blanks(line, ts.end())
        if pos < len(line):
            raise ParseError(f"line {lineno}: sample {name}: unexpected text after the "
                             f"timestamp: {line[pos:]!r}")
    return Sample(name, labels, value, timestamp, lineno)


def parse_exposition(data):
    """Parse text format 0.0.4 strictly: an Exposition, or ParseError."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ParseError(f"the text is not valid UTF-8: {e}") from None
    if data and not data.endswith("\n"):
        raise ParseError("the last line does not end with a newline (\\n)")
    families = {}
    state = {"current": None}

    def family_of(sample_name):
        for suffix in ("_bucket", "_sum", "_count"):
            if sample_name.endswith(suffix):
                base = families.get(sample_name[: -len(suffix)])
                if base and suffix in CHILD_SUFFIXES.get(base.type, ()):
                    return base.name
        return sample_name

    def enter(name, lineno, what):
        """The line belongs to family name: families are uninterrupted groups."""
        if state["current"] != name:
            if name in families:
                raise ParseError(f"line {lineno}: {what} for {name}, but the lines of family "
                                 f"{name} are not contiguous (interrupted by {state['current']})")
            families[name] = Family(name)
            state["current"] = name
        return families[name]

    lines = data.split("\n")[:-1] if data else []
    for lineno, line in enumerate(lines, 1):
        start = _skip_blanks(line, 0)
        if start == len(line):
            continue  # empty lines are ignored
        if line[start] == "#":
            m = re.compile(r"#[ \t]*([^ \t]*)").match(line, start)
            keyword, rest = m.group(1), line[m.end():]
            if keyword not in ("HELP", "TYPE"):
                continue  # a comment
            m = re.fullmatch(r"[ \t]+([^ \t]+)(?:[ \t]+(.*?))?[ \t]*", rest)
            if not m:
                raise ParseError(f"line {lineno}: # {keyword} without a metric name")
            name, arg = m.group(1), m.group(2)
            if not METRIC_NAME.fullmatch(name):
                raise ParseError(f"line {lineno}: # {keyword}: invalid metric name {name!r} "
                                 "(must match [a-zA-Z_:][a-zA-Z0-9_:]*)")
            if family_of(name) != name:
                raise ParseError(f"line {lineno}: # {keyword} for {name}, a sample name of "
                                 f"{families[family_of(name)].type} {family_of(name)}")
            fam = enter(name, lineno, f"# {keyword}")
            if keyword == "HELP":
                if fam.help is not None:
                    raise ParseError(f"line {lineno}: HELP given twice for {name}")
                if fam.samples:
                    raise ParseError(f"line {lineno}: HELP for {name} after its samples")
                fam.help = _unescape_help(arg or "", lineno)
            else:
                if fam.typed:
                    raise ParseError(f"line {lineno}: TYPE given twice for {name}")
                if fam.samples:
                    raise ParseError(f"line {lineno}: TYPE for {name} after its samples")
                if arg is None or re.search(r"[ \t]", arg):
                    raise ParseError(f"line {lineno}: # TYPE {name} needs exactly one type token")
                if arg not in TYPES:
                    raise ParseError(f"line {lineno}: unknown TYPE {arg!r} for {name} "
                                     f"(one of {', '.join(TYPES)})")
                for suffix in CHILD_SUFFIXES.get(arg, ()):
                    if name + suffix in families:
                        raise ParseError(f"line {lineno}: TYPE {name} {arg}, but {name}{suffix} "
                                         "is already a family of its own")
                fam.type, fam.typed = arg, True
            continue
        sample = _parse_sample_line(line, lineno)
        fam = enter(family_of(sample.name), lineno, f"sample {sample.name}")
        _check_sample(fam, sample)
        fam.samples.append(sample)
    for fam in families.values():
        _check_family(fam)
    return Exposition(families)


def _check_sample(fam, s):
    where = f"line {s.line}: {s.name}"
    if fam.type == "counter" and s.value < 0:
        raise ParseError(f"{where}: negative counter value {s.value}")
    if fam.type == "histogram":
        if s.name == fam.name:
            raise ParseError(f"{where}: a histogram's samples are {fam.name}_bucket, _sum "
                             "and _count")
        if s.name.endswith("_bucket"):
            if "le" not in s.labels:
                raise ParseError(f"{where}: histogram bucket without an le label")
            le = parse_float(s.labels["le"])
            if le is None or math.isnan(le):
                raise ParseError(f"{where}: le={s.labels['le']!r} is not a float")
        elif "le" in s.labels:
            raise ParseError(f"{where}: le label outside a _bucket sample")
        if not s.name.endswith("_sum") and not (s.value >= 0 and math.isfinite(s.value)):
            raise ParseError(f"{where}: a histogram count must be finite and >= 0, not {s.value}")
    if fam.type == "summary":
        if s.name == fam.name:
            q = parse_float(s.labels["quantile"]) if "quantile" in s.labels else None
            if q is None or not 0 <= q <= 1:
                raise ParseError(f"{where}: summary quantile sample needs a quantile label "
                                 "in [0, 1]")
        elif "quantile" in s.labels:
            raise ParseError(f"{where}: quantile label outside a quantile sample")
        if s.name.endswith("_count") and not (s.value >= 0 and math.isfinite(s.value)):
            raise ParseError(f"{where}: a summary count must be finite and >= 0, not {s.value}")
    # Unique series: the same name and labels (le and quantile compared as numbers).
    key = (s.name, _series_key(fam, s))
    if key in fam.series:
        raise ParseError(f"{where}: duplicate series (same name and labels as line "
                         f"{fam.series[key]})")
    fam.series[key] = s.line


def _series_key(fam, s):
    numeric = ("le", "quantile") if fam.type in CHILD_SUFFIXES else ()
    return tuple(sorted((k, parse_float(v) if k in numeric else v) for k, v in s.labels.items()))


def _check_family(fam):
    if fam.type not in CHILD_SUFFIXES:
        return
    groups = {}  # labels without le/quantile -> {"points": [...], "_sum": s, "_count": s}
    for s in fam.samples:
        rest = tuple(sorted((k, v) for k, v in s.labels.items() if k not in ("le", "quantile")))
        g = groups.setdefault(rest, {"points": [], "_sum": None, "_count": None})
        if s.name in (fam.name + "_sum", fam.name + "_count"):
            g[s.name[len(fam.name):]] = s
        else:
            bound = s.labels["le" if fam.type == "histogram" else "quantile"]
            g["points"].append((parse_float(bound), s))
    for rest, g in groups.items():
        what = f"{fam.type} {fam.name}{{{','.join(f'{k}={v!r}' for k, v in rest)}}}"
        points = g["points"]
        for (b1, s1), (b2, s2) in zip(points, points[1:]):
            if not b2 > b1:
                raise ParseError(f"line {s2.line}: {what}: bounds not in increasing order "
                                 f"({b1} then {b2})")
            if fam.type == "histogram" and s2.value < s1.value:
                raise ParseError(f"line {s2.line}: {what}: bucket counts decrease with le "
                                 f"(le={b1}: {s1.value}, le={b2}: {s2.value})")
        if fam.type == "histogram" and (not points or points[-1][0] != math.inf):
            raise ParseError(f"{what}: no le=\"+Inf\" bucket")
        for part in ("_sum", "_count"):
            if g[part] is None:
                raise ParseError(f"{what}: missing {fam.name}{part}")
        if fam.type == "histogram" and g["_count"].value != points[-1][1].value:
            raise ParseError(f"line {g['_count'].line}: {what}: _count {g['_count'].value} != "
                             f"+Inf bucket {points[-1][1].value}")


# --- prometheus_client's parser, when Debian's package is there -----------------------------

def client_parser():
    """(text_string_to_metric_families, version) or None."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        return None
    try:
        from importlib.metadata import version
        ver = version("prometheus_client")
    except Exception:  # metadata missing: the version is only for the report
        ver = "?"
    return text_string_to_metric_families, ver


def _value_key(v):
    return "NaN" if math.isnan(v) else repr(float(v))


def client_cross_check(text, expo):
    """prometheus_client must read text without error and find the same samples."""
    client = client_parser()
    if client is None:
        return None
    parse, ver = client
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        families = list(parse(text))
    except Exception as e:
        raise ParseError(f"prometheus_client {ver} rejects the text: {type(e).__name__}: {e}")
    theirs = [s for f in families for s in f.samples]
    ours = expo.samples
    if len(theirs) != len(ours):
        raise ParseError(f"prometheus_client {ver} finds {len(theirs)} samples, the strict "
                         f"parser {len(ours)}")
    # The same label sets and values (names aside: the client renames some counters).
    key = lambda labels, value: (tuple(sorted(labels.items())), _value_key(value))
    a = sorted(key(s.labels, s.value) for s in theirs)
    b = sorted(key(s.labels, s.value) for s in ours)
    if a != b:
        diff = [x for x in b if x not in a][:3] + [x for x in a if x not in b][:3]
        raise ParseError(f"prometheus_client {ver} reads other labels or values: {diff}")
    return ver


# --- Self-test ------------------------------------------------------------------------------------

DOC_EXAMPLE = r'''# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="0.2"} 100392
http_request_duration_seconds_bucket{le="0.5"} 129389
http_request_duration_seconds_bucket{le="1"} 133988
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.05"} 3272
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.9"} 9001
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
'''

CHOPIN_LIKE = '''# HELP chopin_http_requests_total Requests answered, by route pattern and status (route "": no route matched).
# TYPE chopin_http_requests_total counter
chopin_http_requests_total{method="GET",route="/hello/:name",status="200"} 1
chopin_http_requests_total{method="GET",route="",status="404"} 1
# HELP chopin_http_request_duration_seconds Time from routing to the handler's answer.
# TYPE chopin_http_request_duration_seconds histogram
chopin_http_request_duration_seconds_bucket{method="GET",route="/hello/:name",le="0.0005"} 1
chopin_http_request_duration_seconds_bucket{method="GET",route="/hello/:name",le="+Inf"} 1
chopin_http_request_duration_seconds_sum{method="GET",route="/hello/:name"} 0.000041
chopin_http_request_duration_seconds_count{method="GET",route="/hello/:name"} 1
chopin_http_request_duration_seconds_bucket{method="GET",route="",le="0.0005"} 0
chopin_http_request_duration_seconds_bucket{method="GET",route="",le="+Inf"} 1
chopin_http_request_duration_seconds_sum{method="GET",route=""} 0.000900
chopin_http_request_duration_seconds_count{method="GET",route=""} 1
# HELP chopin_workers Worker threads serving requests.
# TYPE chopin_workers gauge
chopin_workers 2
'''

HIST_HEAD = "# TYPE h histogram\n"

# (name, text, client_ok): valid snippets, each must be accepted; client_ok
# marks those prometheus_client's laxer parser also reads as written.
VALID = [
    ("the format description's example", DOC_EXAMPLE, True),
    ("Chopin-like exposition", CHOPIN_LIKE, True),
    ("empty text", "", True),
    ("comments and empty lines only", "# just a comment\n\n \t \n#\n# HELPER is no keyword\n", True),
    ("blanks and tabs between tokens, trailing comma, escapes",
     'foo { a = "1" ,\tb="x\\\\y\\"z\\n" , }\t1.5e3  \n', False),
    ("special and unusual floats, int64 timestamps",
     "a NaN\nb -Inf\nc +inf\nd 0x1p-3\ne 1.\nf .5\ng +3 -9223372036854775808\n"
     "h 1E-400 9223372036854775807\n", False),
    ("empty label set, leading blanks", "foo{} 3\n   bar 4\n", False),
    ("HELP with escapes and UTF-8, HELP without text, TYPE after HELP",
     "# HELP x a \\\\ b \\n c — é \"q\"\n# TYPE x gauge\nx 1\n# HELP y\ny 2\n", True),
    ("histogram with TYPE before HELP, interleaved label sets, comment inside",
     '# TYPE h histogram\n# HELP h help\nh_bucket{r="a",le="1"} 1\nh_bucket{r="b",le="1"} 0\n'
     '# a comment does not interrupt\nh_bucket{r="a",le="+Inf"} 2\nh_sum{r="a"} 3\n'
     'h_count{r="a"} 2\nh_bucket{r="b",le="+Inf"} 0\nh_sum{r="b"} 0\nh_count{r="b"} 0\n', True),
    ("untyped samples, a counter named without _total",
     "# HELP u untyped one\nu{x=\"1\"} 1\nu{x=\"2\"} 2\n# TYPE c counter\nc 7\n", True),
    ("le written in another float form", HIST_HEAD + 'h_bucket{le="1e0"} 1\n'
     'h_bucket{le="2.5"} 1\nh_bucket{le="+Inf"} 1\nh_sum 0.5\nh_count 1\n', True),
]

# (name, text, what the error must say): each must be rejected, for that reason.
INVALID = [
    ("last line without newline", "foo 1", "newline"),
    ("metric name starting with a digit", "1foo 1\n", "invalid metric name"),
    ("metric name with a dash", "foo-bar 1\n", "invalid metric name"),
    ("TYPE with a bad metric name", "# TYPE foo-bar counter\n", "invalid metric name"),
    ("label name starting with a digit", 'foo{1a="x"} 1\n', "invalid label name"),
    ("label name with a colon", 'foo{a:b="x"} 1\n', "invalid label name"),
    ("reserved label name", 'foo{__name__="x"} 1\n', "reserved"),
    ("label value escape \\t", 'foo{a="x\\ty"} 1\n', "invalid escape"),
    ("label value escape \\'", "foo{a=\"x\\'\"} 1\n", "invalid escape"),
    ("HELP escape \\\"", '# HELP foo say \\"hi\\"\nfoo 1\n', "invalid escape"),
    ("unclosed label value", 'foo{a="x} 1\n', "not closed"),
    ("unquoted label value", "foo{a=x} 1\n", "double quotes"),
    ("stray quote in label value", 'foo{a="x"y"} 1\n', "expected ',' or '}'"),
    ("labels without a comma", 'foo{a="1" b="2"} 1\n', "expected ',' or '}'"),
    ("double comma", 'foo{a="1",,b="2"} 1\n', "invalid label name"),
    ("duplicate label name", 'foo{a="1",a="2"} 1\n', "duplicate label name"),
    ("duplicate series, labels reordered", 'foo{a="1",b="2"} 1\nfoo{b="2",a="1"} 2\n',
     "duplicate series"),
    ("duplicate bucket, le written twice", HIST_HEAD + 'h_bucket{le="1"} 1\nh_bucket{le="1.0"} 1\n'
     'h_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', "duplicate series"),
    ("value with a comma", "foo 1,5\n", "not a float"),
    ("value that is a word", "foo abc\n", "not a float"),
    ("value with underscores", "foo 1_000\n", "not a float"),
    ("hex value without p exponent", "foo 0x10\n", "not a float"),
    ("value out of float64 range", "foo 1e400\n", "not a float"),
    ("signed NaN", "foo -NaN\n", "not a float"),
    ("sample without value", "foo\n", "no value"),
    ("CRLF line ending", "foo 1\r\n", "not a float"),
    ("fractional timestamp", "foo 1 1.5\n", "not an int64"),
    ("timestamp beyond int64", "foo 1 9223372036854775808\n", "not an int64"),
    ("three tokens after the name", "foo 1 2 3\n", "unexpected text after the timestamp"),
    ("invalid UTF-8", b'foo{a="\xff"} 1\n', "UTF-8"),
    ("TYPE after samples", "foo 1\n# TYPE foo gauge\n", "TYPE for foo after its samples"),
    ("HELP after samples", "foo 1\n# HELP foo late\n", "HELP for foo after its samples"),
    ("family not contiguous", 'foo{a="1"} 1\nbar 1\nfoo{a="2"} 2\n', "not contiguous"),
    ("HELP apart from its family", "# HELP foo x\n# HELP bar y\nfoo 1\n", "not contiguous"),
    ("HELP given twice", "# HELP foo a\n# HELP foo b\nfoo 1\n", "HELP given twice"),
    ("TYPE given twice", "# TYPE foo gauge\n# TYPE foo gauge\nfoo 1\n", "TYPE given twice"),
    ("unknown TYPE", "# TYPE foo countr\nfoo 1\n", "unknown TYPE"),
    ("TYPE in capitals", "# TYPE foo COUNTER\nfoo 1\n", "unknown TYPE"),
    ("TYPE without a type", "# TYPE foo\nfoo 1\n", "exactly one type"),
    ("TYPE with two types", "# TYPE foo counter gauge\nfoo 1\n", "exactly one type"),
    ("TYPE for a histogram's sample name", HIST_HEAD + "# TYPE h_sum gauge\n", "a sample name of"),
    ("negative counter", "# TYPE c counter\nc -1\n", "negative counter"),
    ("histogram without +Inf bucket", HIST_HEAD + 'h_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
     "no le=\"+Inf\" bucket"),
    ("histogram with _sum and _count only", HIST_HEAD + "h_sum 1\nh_count 1\n",
     "no le=\"+Inf\" bucket"),
    ("bucket counts decreasing", HIST_HEAD + 'h_bucket{le="1"} 5\nh_bucket{le="2"} 4\n'
     'h_bucket{le="+Inf"} 5\nh_sum 1\nh_count 5\n', "bucket counts decrease"),
    ("buckets out of order", HIST_HEAD + 'h_bucket{le="2"} 1\nh_bucket{le="1"} 1\n'
     'h_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', "increasing order"),
    ("_count differs from the +Inf bucket", HIST_HEAD + 'h_bucket{le="+Inf"} 3\nh_sum 1\n'
     'h_count 4\n', "!= +Inf bucket"),
    ("histogram without _sum", HIST_HEAD + 'h_bucket{le="+Inf"} 3\nh_count 3\n', "missing h_sum"),
    ("histogram without _count", HIST_HEAD + 'h_bucket{le="+Inf"} 3\nh_sum 3\n',
     "missing h_count"),
    ("one label set of two without _count", HIST_HEAD + 'h_bucket{r="a",le="+Inf"} 1\n'
     'h_sum{r="a"} 1\nh_count{r="a"} 1\nh_bucket{r="b",le="+Inf"} 1\nh_sum{r="b"} 1\n',
     "missing h_count"),
    ("bucket without le", HIST_HEAD + 'h_bucket{r="a"} 1\n', "without an le label"),
    ("le that is not a float", HIST_HEAD + 'h_bucket{le="big"} 1\n', "is not a float"),
    ("histogram sample without suffix", HIST_HEAD + "h 1\n", "_bucket, _sum and _count"),
    ("summary quantile out of range", "# TYPE s summary\ns{quantile=\"1.5\"} 1\ns_sum 1\n"
     "s_count 1\n", "quantile label in [0, 1]"),
]


def self_test():
    failures = []
    client = client_parser()
    crossed = 0
    for name, text, client_ok in VALID:
        try:
            expo = parse_exposition(text)
            if client_ok and client:
                client_cross_check(text, expo)
                crossed += 1
        except ParseError as e:
            failures.append(f"valid snippet rejected: {name}: {e}")
    for name, text, reason in INVALID:
        try:
            parse_exposition(text)
            failures.append(f"invalid snippet accepted: {name}: {text!r}")
        except ParseError as e:
            if reason not in str(e):
                failures.append(f"invalid snippet rejected for another reason: {name}: "
                                f"wanted {reason!r}, got: {e}")
    # The parser reads what it accepts right: escapes, values, timestamps.
    try:
        expo = parse_exposition(DOC_EXAMPLE)
        msdos = expo.families["msdos_file_access_time_seconds"].samples[0]
        assert msdos.labels == {"path": "C:\\DIR\\FILE.TXT",
                                "error": 'Cannot find file:\n"FILE.TXT"'}, msdos.labels
        assert msdos.value == 1.458255915e9
        weird = expo.families["something_weird"].samples[0]
        assert weird.value == math.inf and weird.timestamp == -3982045
        hist = expo.families["http_request_duration_seconds"]
        assert hist.type == "histogram" and len(hist.samples) == 8
        assert hist.help == "A histogram of the request duration."
        assert len(expo.samples) == 20, len(expo.samples)
        assert parse_exposition("# HELP x a\\\\b\\nc\nx 1\n").families["x"].help == "a\\b\nc"
        assert parse_exposition("d 0x1p-3\n").samples[0].value == 0.125
    except (AssertionError, ParseError) as e:
        failures.append(f"values read wrong: {e!r}")
    # The cross-check can fail too: a text the client reads differently.
    if client:
        try:
            client_cross_check("foo 1\n", parse_exposition("foo 2\n"))
            failures.append("client cross-check accepted different values")
        except ParseError:
            pass
    if failures:
        for f in failures:
            print(f"check_metrics: self-test FAIL: {f}", file=sys.stderr)
        return 1
    print(f"check_metrics: self-test OK: {len(VALID)} valid snippets accepted, "
          f"{len(INVALID)} invalid snippets rejected for the expected reason")
    if client:
        print(f"check_metrics: self-test: prometheus_client {client[1]} read {crossed} valid "
              "snippets the same way")
    else:
        print("check_metrics: note: prometheus_client is not importable: only the strict "
              "parser was used")
    return 0


# --- End to end -----------------------------------------------------------------------------------

REQUESTS = "chopin_http_requests_total"
DURATION = "chopin_http_request_duration_seconds"
EXPECTED_FAMILIES = {
    REQUESTS: "counter",
    DURATION: "histogram",
    "chopin_http_connections": "gauge",
    "chopin_http_requests_in_flight": "gauge",
    "chopin_workers": "gauge",
    "chopin_start_time_seconds": "gauge",
}
BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, math.inf]
WORKERS = 2
SUM_MUST_GROW_FROM = 10  # requests after which a route's _sum must have grown

# (how many, method, path, JSON body, status, route pattern counted, text the
# answer must hold): route "" is "no route matched" (404, and 405 for a known
# path with another method). The text ties each answer to its request.
MIX = [
    (37, "GET", "/hello/x{i}", None, 200, "/hello/:name", '"Hello, x{i}!"'),
    (5, "GET", "/search?q=a{i}&limit=3", None, 200, "/search", '"q":"a{i}"'),
    (3, "POST", "/echo", {"n": "{i}", "s": "caf\u00e9"}, 200, "/echo", None),  # the body back
    (4, "POST", "/api/auth/signup",
     {"email": "u{i}@example.com", "username": "user{i}", "password": "a long password"},
     201, "/api/auth/signup", '"email":"u{i}@example.com"'),
    (2, "POST", "/api/auth/signup", {"email": "nope{i}", "password": "x"}, 422,
     "/api/auth/signup", '"VALIDATION_FAILED"'),
    (3, "POST", "/todos", {"title": "t{i}"}, 401, "/todos", '"UNAUTHORIZED"'),  # no token
    (6, "GET", "/nope/{i}", None, 404, "", '"NOT_FOUND"'),
    (2, "DELETE", "/hello/x{i}", None, 405, "", '"METHOD_NOT_ALLOWED"'),
]
KEEPALIVE_THREADS = 4  # one http.client connection each, reopened every RECONNECT_EVERY
RECONNECT_EVERY = 6
URLLIB_THREADS = 1  # urllib.request: a new connection per request
SPLIT_WRITES = False  # --split-writes: head and body in two writes (http.client's way)


def _fill(template, i):
    if isinstance(template, dict):
        return {k: _fill(v, i) for k, v in template.items()}
    return template.replace("{i}", str(i)) if isinstance(template, str) else template


def _plan():
    reqs = []
    for count, method, path, body, status, route, text in MIX:
        for i in range(count):
            data = json.dumps(_fill(body, i)).encode() if body is not None else None
            expect = _fill(text, i).encode() if text is not None else data
            reqs.append((method, _fill(path, i), data, status, expect))
    random.Random(4).shuffle(reqs)
    return reqs


def _expected_deltas():
    want = {}
    for count, method, _, _, status, route, _ in MIX:
        key = (method, route, str(status))
        want[key] = want.get(key, 0) + count
    want[("GET", "/metrics", "200")] = 1  # the baseline scrape, counted once answered
    return want


class OneWriteHTTPConnection(http.client.HTTPConnection):
    """http.client, but a request's head and body leave in one write.

    http.client writes the head, then the body. Chopin's engine (src/engine/
    conn.c, as of this writing) mixes up such a request when, on the same
    worker, another connection's request is parsed while it waits for the
    body: it then answers the other request on this connection. The metrics
    check is not the place to trip over that, so requests go in one piece
    (--split-writes restores http.client's two writes); every answer is still
    checked against its own request."""

    _held = None

    def request(self, *args, **kwargs):
        if SPLIT_WRITES:
            return super().request(*args, **kwargs)
        self._held = []
        try:
            super().request(*args, **kwargs)
            data = b"".join(self._held)
        finally:
            self._held = None
        super().send(data)

    def send(self, data):
        if self._held is None:
            return super().send(data)
        self._held.append(bytes(data))


class _OneWriteHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(OneWriteHTTPConnection, req)


class Server:
    """The demo binary on a free port; always stopped by stop()."""

    def __init__(self, binary, workdir):
        self.binary, self.workdir = binary, workdir
        self.proc = None
        self.log_path = os.path.join(workdir, "server.log")

    def start(self):
        os.makedirs(os.path.join(self.workdir, "uploads"), exist_ok=True)
        env = dict(os.environ)
        env.update(SERVER_PORT="0", CHOPIN_WORKERS=str(WORKERS), DATABASE_URL="sqlite::memory:",
                   UPLOAD_DIR=os.path.join(self.workdir, "uploads"), CHOPIN_ACCESS_LOG="off",
                   METRICS="on")
        self.started_at = time.time()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([self.binary], cwd=self.workdir, env=env,
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        banner = re.compile(r"listening on (http://[^\s/]+:([0-9]+))\s*$", re.MULTILINE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
                m = banner.search(f.read())
            if m:
                self.base = m.group(1)
                return self.base
            if self.proc.poll() is not None:
                raise CheckError(f"the server exited with status {self.proc.returncode} before "
                                 f"its banner:\n{self._log_tail()}")
            time.sleep(0.05)
        raise CheckError(f"no 'listening on http://...:PORT' banner within 15 s:\n"
                         f"{self._log_tail()}")

    def _log_tail(self):
        try:
            with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-20:])
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            print("check_metrics: the server ignored SIGTERM for 5 s: SIGKILL", file=sys.stderr)
            self.proc.kill()
            self.proc.wait()


def scrape(base):
    try:
        with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
            status, ctype, body = r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        raise CheckError(f"GET /metrics answered {e.code}: {e.read()[:200]!r}") from None
    except (urllib.error.URLError, OSError) as e:
        raise CheckError(f"GET {base}/metrics failed: {e}") from None
    if status != 200:
        raise CheckError(f"GET /metrics answered {status}")
    params = [p.strip().lower() for p in ctype.split(";")]
    if params[0] != "text/plain" or "version=0.0.4" not in params:
        raise CheckError(f"GET /metrics Content-Type {ctype!r}: not text/plain; version=0.0.4")
    return body


def send_mix(base):
    """The planned requests over keep-alive and fresh connections, several threads."""
    reqs = _plan()
    nthreads = KEEPALIVE_THREADS + URLLIB_THREADS
    shares = [reqs[t::nthreads] for t in range(nthreads)]
    errors, conns, lock = [], set(), threading.Lock()
    host_port = base[len("http://"):]
    opener = urllib.request.build_opener(_OneWriteHandler)

    def check(method, path, want, expect, status, body):
        if status != want or expect not in body:
            raise CheckError(f"{method} {path} answered {status} {body[:160]!r}; expected "
                             f"{want} with {expect[:60]!r}")

    def keepalive(t, share):
        conn = None
        try:
            for n, (method, path, data, want, expect) in enumerate(share):
                if conn is None or n % RECONNECT_EVERY == 0:
                    if conn:
                        conn.close()
                    conn = OneWriteHTTPConnection(host_port, timeout=10)
                headers = {"Content-Type": "application/json"} if data is not None else {}
                conn.request(method, path, body=data, headers=headers)
                with lock:
                    conns.add(("keep-alive", t, conn.sock.getsockname()))
                r = conn.getresponse()
                check(method, path, want, expect, r.status, r.read())
        except Exception as e:
            with lock:
                errors.append(f"keep-alive thread {t}: {type(e).__name__}: {e}")
        finally:
            if conn:
                conn.close()

    def fresh(t, share):
        try:
            for n, (method, path, data, want, expect) in enumerate(share):
                req = urllib.request.Request(base + path, data=data, method=method)
                if data is not None:
                    req.add_header("Content-Type", "application/json")
                try:
                    with opener.open(req, timeout=10) as r:
                        status, body = r.status, r.read()
                except urllib.error.HTTPError as e:
                    status, body = e.code, e.read()
                with lock:
                    conns.add(("urllib", t, n))
                check(method, path, want, expect, status, body)
        except Exception as e:
            with lock:
                errors.append(f"urllib thread {t}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=keepalive, args=(t, shares[t]), daemon=True)
               for t in range(KEEPALIVE_THREADS)]
    threads += [threading.Thread(target=fresh, args=(t, shares[t]), daemon=True)
                for t in range(KEEPALIVE_THREADS, nthreads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise CheckError("requests failed:\n  " + "\n  ".join(errors))
    return len(reqs), len(conns), nthreads


def _requests(expo):
    out = {}
    for s in expo.families[REQUESTS].samples:
        if set(s.labels) != {"method", "route", "status"}:
            raise CheckError(f"{REQUESTS} line {s.line}: labels {sorted(s.labels)}, "
                             "expected method, route, status")
        if not re.fullmatch(r"[1-9][0-9][0-9]", s.labels["status"]):
            raise CheckError(f"{REQUESTS} line {s.line}: status {s.labels['status']!r}")
        out[(s.labels["method"], s.labels["route"], s.labels["status"])] = s.value
    return out


def _histograms(expo):
    out = {}
    for s in expo.families[DURATION].samples:
        want = {"method", "route", "le"} if s.name.endswith("_bucket") else {"method", "route"}
        if set(s.labels) != want:
            raise CheckError(f"{s.name} line {s.line}: labels {sorted(s.labels)}, expected "
                             f"{sorted(want)}")
        h = out.setdefault((s.labels["method"], s.labels["route"]),
                           {"buckets": [], "sum": None, "count": None})
        if s.name.endswith("_bucket"):
            h["buckets"].append((parse_float(s.labels["le"]), s.value))
        else:
            h[s.name[len(DURATION) + 1:]] = s.value
    for key, h in out.items():
        if [b for b, _ in h["buckets"]] != BOUNDS:
            raise CheckError(f"{DURATION}{_series_name(key)}: le bounds "
                             f"{[b for b, _ in h['buckets']]}, expected {BOUNDS}")
        if h["sum"] is None or h["count"] is None:
            raise CheckError(f"{DURATION}{_series_name(key)}: no _sum or no _count")
    return out


def _gauge(expo, name):
    samples = expo.families[name].samples
    if len(samples) != 1 or samples[0].labels:
        raise CheckError(f"{name}: expected one sample without labels")
    return samples[0].value


def check_scrape(body, label):
    """Strict parse, prometheus_client cross-check, the families expected."""
    try:
        expo = parse_exposition(body)
    except ParseError as e:
        raise CheckError(f"{label}: the strict parser rejects /metrics: {e}") from None
    try:
        client = client_cross_check(body, expo)
    except ParseError as e:
        raise CheckError(f"{label}: {e}") from None
    for name, typ in EXPECTED_FAMILIES.items():
        fam = expo.families.get(name)
        if fam is None:
            raise CheckError(f"{label}: no {name} family")
        if fam.type != typ or not fam.help:
            raise CheckError(f"{label}: {name} is {fam.type} (help {fam.help!r}), expected "
                             f"{typ} with a HELP text")
    return expo, client


def _series_name(key):
    return f'{{method="{key[0]}",route="{key[1]}"}}'


def _bounds_problem(buckets, total):
    """A duration histogram's sum must lie within what its buckets allow:
    each observation in (le[i-1], le[i]] adds more than le[i-1] and at most
    le[i] (nothing bounds the +Inf bucket's)."""
    low = high = 0.0
    prev_le, prev_c = 0.0, 0
    for le, c in buckets:
        n = c - prev_c
        if n < 0:
            return f"bucket le={le} holds {c:g}, less than le={prev_le}'s {prev_c:g}"
        low += n * prev_le
        high += n * le if n else 0.0
        prev_le, prev_c = le, c
    if not low - 1e-9 <= total <= high + 1e-9:
        return f"_sum {total:.6f} is outside [{low:.6f}, {high:.6f}], what its buckets allow"
    return None


def compare(before, after, elapsed, started_at):
    problems = []
    req0, req1 = _requests(before), _requests(after)
    want = _expected_deltas()
    for key in sorted(set(req0) | set(req1) | set(want)):
        if key in req0 and key not in req1:
            problems.append(f"{REQUESTS}{key} disappeared")
            continue
        delta = req1.get(key, 0) - req0.get(key, 0)
        if delta != want.get(key, 0):
            problems.append(f'{REQUESTS}{{method="{key[0]}",route="{key[1]}",status="{key[2]}"}}: '
                            f"delta {delta:g}, expected {want.get(key, 0)}")
    h0, h1 = _histograms(before), _histograms(after)
    for label, reqs, hists in (("scrape 1", req0, h0), ("scrape 2", req1, h1)):
        for key in set(hists) | {(m, r) for m, r, _ in reqs}:
            total = sum(v for (m, r, _), v in reqs.items() if (m, r) == key)
            count = hists[key]["count"] if key in hists else 0
            if count != total:
                problems.append(f"{label}: {DURATION}_count{_series_name(key)} {count:g} != "
                                f"the sum of its {REQUESTS} {total:g}")
            if key in hists:
                bad = _bounds_problem(hists[key]["buckets"], hists[key]["sum"])
                if bad:
                    problems.append(f"{label}: {DURATION}{_series_name(key)}: {bad}")
    total_dsum = 0.0
    for key in sorted(set(h0) | set(h1)):
        name = f"{DURATION}{_series_name(key)}"
        if key in h0 and key not in h1:
            problems.append(f"{name} disappeared")
            continue
        a = h0.get(key, {"buckets": [(b, 0) for b in BOUNDS], "sum": 0.0, "count": 0})
        b = h1[key]
        dcount = b["count"] - a["count"]
        dreq = sum(req1.get(k, 0) - req0.get(k, 0) for k in set(req0) | set(req1)
                   if k[:2] == key)
        if dcount != dreq:
            problems.append(f"{name}: _count delta {dcount:g}, its requests' delta {dreq:g}")
        dbuckets = [(le, c1 - c0) for (le, c0), (_, c1) in zip(a["buckets"], b["buckets"])]
        for le, d in dbuckets:
            if d < 0:
                problems.append(f"{name}: bucket le={le} went down by {-d:g}")
        dsum = b["sum"] - a["sum"]
        total_dsum += dsum
        if dsum < 0:
            problems.append(f"{name}: _sum went down ({a['sum']} -> {b['sum']})")
        # The new requests alone: cumulative buckets, a sum they allow.
        bad = _bounds_problem(dbuckets, dsum)
        if bad:
            problems.append(f"{name}: between the scrapes: {bad}")
        # The server times in whole microseconds: a few sub-microsecond requests
        # may add nothing (a third of POST /echo's do), many cannot.
        if dcount >= SUM_MUST_GROW_FROM and not dsum > 0:
            problems.append(f"{name}: _sum did not grow ({a['sum']} -> {b['sum']}) over "
                            f"{dcount:g} requests")
        if dcount == 0 and dsum != 0:
            problems.append(f"{name}: _sum changed without requests")
        if dsum > dcount * elapsed + 1e-6:
            problems.append(f"{name}: _sum grew {dsum:.6f} s over {dcount:g} requests in "
                            f"{elapsed:.3f} s")
    if not total_dsum > 0:
        problems.append(f"{DURATION}_sum: no route's sum grew")
    for label, expo in (("scrape 1", before), ("scrape 2", after)):
        workers = _gauge(expo, "chopin_workers")
        if workers != WORKERS:
            problems.append(f"{label}: chopin_workers {workers:g}, expected {WORKERS}")
        for g in ("chopin_http_connections", "chopin_http_requests_in_flight"):
            v = _gauge(expo, g)
            if not (v >= 1 and v == int(v)):
                problems.append(f"{label}: {g} {v:g}: the scrape itself is one")
    t0, t1 = _gauge(before, "chopin_start_time_seconds"), _gauge(after, "chopin_start_time_seconds")
    if t0 != t1 or not int(started_at) - 1 <= t0 <= time.time() + 1:
        problems.append(f"chopin_start_time_seconds {t0:g} then {t1:g}: the server was started at "
                        f"{started_at:.0f}")
    if problems:
        raise CheckError("the deltas are wrong:\n  " + "\n  ".join(problems))
    return req0, req1, h0, h1


def end_to_end(server_bin, workdir):
    workdir = os.path.abspath(workdir)
    os.makedirs(workdir, exist_ok=True)
    server = Server(os.path.abspath(server_bin), workdir)
    try:
        base = server.start()
        t_start = time.monotonic()
        body0 = scrape(base)
        sent, nconns, nthreads = send_mix(base)
        body1 = scrape(base)
        elapsed = time.monotonic() - t_start
        for i, body in enumerate((body0, body1), 1):
            with open(os.path.join(workdir, f"metrics-{i}.txt"), "wb") as f:
                f.write(body)
        before, client = check_scrape(body0, "scrape 1")
        after, _ = check_scrape(body1, "scrape 2")
        req0, req1, h0, h1 = compare(before, after, elapsed, server.started_at)
    finally:
        server.stop()
    print(f"check_metrics: server {base}, {WORKERS} workers; scrapes saved in "
          f"{workdir}/metrics-{{1,2}}.txt")
    print(f"check_metrics: strict parser: scrape 1 {len(before.samples)} samples in "
          f"{len(before.families)} families, scrape 2 {len(after.samples)} samples in "
          f"{len(after.families)} families")
    if client:
        print(f"check_metrics: prometheus_client {client}: parsed both scrapes, same samples")
    else:
        print("check_metrics: note: prometheus_client is not importable: only the strict "
              "parser was used")
    print(f"check_metrics: sent {sent} requests from {nthreads} threads over {nconns} "
          f"connections ({KEEPALIVE_THREADS} keep-alive threads, {URLLIB_THREADS} urllib "
          "thread with a connection per request)")
    for key in sorted(_expected_deltas()):
        print(f'  {REQUESTS}{{method="{key[0]}",route="{key[1]}",status="{key[2]}"}} '
              f"+{req1.get(key, 0) - req0.get(key, 0):g}")
    for key in sorted(h1):
        a = h0.get(key, {"sum": 0.0, "count": 0})
        print(f"  {DURATION}{_series_name(key)} _count +{h1[key]['count'] - a['count']:g}, "
              f"_sum +{h1[key]['sum'] - a['sum']:.6f} s")
    print(f"  chopin_workers {_gauge(after, 'chopin_workers'):g}, chopin_http_connections "
          f"{_gauge(after, 'chopin_http_connections'):g}, chopin_http_requests_in_flight "
          f"{_gauge(after, 'chopin_http_requests_in_flight'):g} (at scrape 2)")
    print("check_metrics: end-to-end OK")
    return 0


def check_file(path):
    try:
        with open(path, "rb") as f:
            body = f.read()
    except OSError as e:
        raise CheckError(f"cannot read {path}: {e}") from None
    expo = parse_exposition(body)
    client = client_cross_check(body, expo)
    print(f"check_metrics: {path}: valid, {len(expo.samples)} samples in "
          f"{len(expo.families)} families" + (f"; prometheus_client {client} agrees" if client
                                              else "; prometheus_client not importable"))
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--server-bin")
    ap.add_argument("--workdir")
    ap.add_argument("--file")
    ap.add_argument("--split-writes", action="store_true",
                    help="end to end: send request heads and bodies in two writes")
    args = ap.parse_args(argv)
    modes = [bool(args.self_test), bool(args.server_bin or args.workdir), bool(args.file)]
    if sum(modes) != 1 or (modes[1] and not (args.server_bin and args.workdir)):
        ap.print_usage(sys.stderr)
        print("check_metrics: give --self-test, or --server-bin PATH --workdir DIR, or "
              "--file PATH", file=sys.stderr)
        return 2
    # SIGTERM (ctest's timeout, a shell's kill) ends through the finally
    # blocks, so the server is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    global SPLIT_WRITES
    SPLIT_WRITES = args.split_writes
    try:
        if args.self_test:
            return self_test()
        if args.file:
            return check_file(args.file)
        return end_to_end(args.server_bin, args.workdir)
    except (CheckError, ParseError) as e:
        print(f"check_metrics: FAIL: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
