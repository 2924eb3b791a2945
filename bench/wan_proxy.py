#!/usr/bin/env python3
"""A reverse proxy on loopback that makes a tracker look as far away as a real one.

bench/run.sh puts it in front of the sample tracker for the side-by-side WAN
figures: every request waits the round-trip latency before it is forwarded,
all answers share one link of the given bandwidth, and answers are gzipped
when the request's Accept-Encoding allows it, as YouTrack does.

    wan_proxy.py --upstream http://127.0.0.1:PORT [--port 0]
                 [--latency-ms 60] [--rate-mbit 16] [--gzip-level 6]

Defaults come from WAN_LATENCY_MS, WAN_RATE_MBIT and WAN_GZIP_LEVEL when
set. --rate-mbit 0 leaves the bandwidth unlimited; --gzip-level 0 never
compresses. Level 6 is zlib's (and Jetty's) default: about 4 ms of CPU for a
400 KB page here, less than the 8 ms its 16 KB of gzip take on a 16 Mbit/s
link, so the link and not the proxy's CPU sets the pace (level 1 is twice as
fast and 60% larger).

Prints "wan proxy listening on http://127.0.0.1:PORT" once it accepts
connections. GET /__stats answers the counters as JSON (not delayed, not
counted, not forwarded); GET /__stats/reset answers them and sets them to zero.

What it does not model: TCP's handshake and slow start, packet loss. Each
client connection gets its own keep-alive connection to the upstream.
"""

import argparse
import http.client
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse
import zlib

# Headers that belong to one hop (RFC 9110 section 7.6.1), never forwarded.
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "transfer-encoding", "upgrade",
}
CHUNK = 16 * 1024           # what the link sends at a time
MIN_GZIP_BYTES = 256        # smaller answers gain nothing from compression


class Link:
    """One link all answers share: a chunk leaves once the chunks before it,
    on any connection, have gone through at the link's rate."""

    def __init__(self, bytes_per_second):
        self._rate = bytes_per_second
        self._lock = threading.Lock()
        self._free_at = 0.0

    def send(self, write, data):
        view = memoryview(data)
        for start in range(0, len(view), CHUNK):
            chunk = view[start:start + CHUNK]
            if self._rate > 0:
                with self._lock:
                    now = time.monotonic()
                    begins = max(now, self._free_at)
                    self._free_at = begins + len(chunk) / self._rate
                    done = self._free_at
                wait = done - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            write(chunk)


class Stats:
    FIELDS = ("requests", "wire_bytes", "body_bytes", "decoded_bytes", "gzipped",
              "upstream_bytes", "errors")

    def __init__(self):
        self._lock = threading.Lock()
        self._values = dict.fromkeys(self.FIELDS, 0)

    def add(self, **counts):
        with self._lock:
            for name, n in counts.items():
                self._values[name] += n

    def snapshot(self, reset=False):
        with self._lock:
            values = dict(self._values)
            if reset:
                self._values = dict.fromkeys(self.FIELDS, 0)
        return values


def accepts_gzip(header):
    """Whether an Accept-Encoding value allows gzip (gzip or *, q not 0)."""
    for item in (header or "").split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


def gzip_bytes(data, level):
    compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Set on the class by main().
    upstream = None        # urllib.parse.SplitResult
    latency = 0.0          # seconds
    gzip_level = 6
    link = None
    stats = None

    def log_message(self, format, *args):  # one line per request would drown the bench's output
        pass

    def setup(self):
        super().setup()
        self._upstream_conn = None

    def finish(self):
        super().finish()
        if self._upstream_conn is not None:
            self._upstream_conn.close()

    def do_GET(self):
        self.forward()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else None

    def upstream_request(self, method, target, body, headers):
        while True:
            reused = self._upstream_conn is not None
            if not reused:
                self._upstream_conn = http.client.HTTPConnection(
                    self.upstream.hostname, self.upstream.port or 80, timeout=120)
            try:
                self._upstream_conn.request(method, target, body=body, headers=headers)
                response = self._upstream_conn.getresponse()
                return response, response.read()
            except (OSError, http.client.HTTPException):
                self._upstream_conn.close()
                self._upstream_conn = None
                # A kept-alive connection the upstream had closed: one try on a new one.
                if not reused:
                    raise

    def answer_stats(self):
        reset = self.path.rstrip("/").endswith("/reset")
        body = (json.dumps(self.stats.snapshot(reset=reset)) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self):
        if self.path == "/__stats" or self.path.startswith("/__stats/"):
            self.answer_stats()
            return
        body = self.read_body()
        if self.latency > 0:
            time.sleep(self.latency)  # the round trip, spent before the tracker sees the request
        headers = {}
        for name, value in self.headers.items():
            lower = name.lower()
            # The proxy compresses by itself, so the tracker is asked for plain answers.
            if lower in HOP_BY_HOP or lower in ("host", "accept-encoding", "content-length"):
                continue
            headers[name] = value
        headers["Host"] = self.upstream.netloc
        if body is not None:
            headers["Content-Length"] = str(len(body))
        target = self.upstream.path.rstrip("/") + self.path
        try:
            response, data = self.upstream_request(self.command, target, body, headers)
        except (OSError, http.client.HTTPException) as e:
            self.stats.add(errors=1)
            message = f"wan_proxy: the upstream failed: {e}\n".encode()
            self.send_answer(502, "Bad Gateway", [("Content-Type", "text/plain")], message, False)
            return
        upstream_head = (15 + len(response.reason) + 2
                         + sum(len(k) + len(v) + 4 for k, v in response.getheaders()))
        self.stats.add(upstream_bytes=upstream_head + len(data))
        out_headers = [(k, v) for k, v in response.getheaders()
                       if k.lower() not in HOP_BY_HOP
                       and k.lower() not in ("content-length", "date", "server")]
        compress = (self.gzip_level > 0 and len(data) >= MIN_GZIP_BYTES
                    and self.command != "HEAD" and response.status not in (204, 304)
                    and not response.getheader("Content-Encoding")
                    and accepts_gzip(self.headers.get("Accept-Encoding")))
        decoded = len(data)
        if compress:
            data = gzip_bytes(data, self.gzip_level)
            out_headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        self.send_answer(response.status, response.reason, out_headers, data, compress, decoded)

    def send_answer(self, status, reason, headers, data, gzipped, decoded=None):
        head = [f"HTTP/1.1 {status} {reason}"]
        head += [f"{k}: {v}" for k, v in headers]
        head.append(f"Date: {self.date_time_string()}")
        head.append(f"Content-Length: {len(data)}")
        if self.close_connection:
            head.append("Connection: close")
        wire = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if self.command != "HEAD":
            wire += data
        self.link.send(self.wfile.write, wire)
        self.wfile.flush()
        self.stats.add(requests=1, wire_bytes=len(wire), body_bytes=len(data),
                       decoded_bytes=decoded if decoded is not None else len(data),
                       gzipped=1 if gzipped else 0)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def env_number(name, default):
    value = os.environ.get(name, "")
    return float(value) if value.strip() else default


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="the tracker, e.g. http://127.0.0.1:8111")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--latency-ms", type=float, default=env_number("WAN_LATENCY_MS", 60))
    parser.add_argument("--rate-mbit", type=float, default=env_number("WAN_RATE_MBIT", 16),
                        help="megabits (10^6) per second shared by all answers; 0: unlimited")
    parser.add_argument("--gzip-level", type=int, default=int(env_number("WAN_GZIP_LEVEL", 6)),
                        help="zlib level 1-9 when the client accepts gzip; 0: never")
    args = parser.parse_args()

    upstream = urllib.parse.urlsplit(args.upstream)
    if upstream.scheme != "http" or not upstream.hostname:
        parser.error("--upstream must be an http:// URL")
    if not 0 <= args.gzip_level <= 9:
        parser.error("--gzip-level must be 0-9")
    Handler.upstream = upstream
    Handler.latency = args.latency_ms / 1000
    Handler.gzip_level = args.gzip_level
    Handler.link = Link(args.rate_mbit * 1_000_000 / 8)
    Handler.stats = Stats()

    server = Server(("127.0.0.1", args.port), Handler)
    print(f"wan proxy listening on http://127.0.0.1:{server.server_address[1]}"
          f" (latency {args.latency_ms:g} ms, {args.rate_mbit:g} Mbit/s,"
          f" gzip level {args.gzip_level})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
