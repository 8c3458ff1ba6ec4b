#!/usr/bin/env python3
"""A ClickHouse HTTP interface in front of chDB, for PMOC's tests.

chDB (PyPI `chdb-core`) embeds a current ClickHouse (26.x) as a library and
has no server of its own. This speaks as much of ClickHouse's HTTP interface
as the `clickhouse` Rust crate (0.14) uses, so PMOC's own code (the store,
the pipeline, the dashboard) runs unchanged against a current release:

- `GET /ping` answers `Ok.`;
- a statement comes in the POST body, or in the `query` URL parameter with
  the body appended (as ClickHouse does); `INSERT INTO t(cols) FORMAT F` in
  `query` takes its rows from the body (`RowBinary`, as the crate sends them,
  in chunked transfer encoding);
- `database` sets the current database, `default_format` the output format
  (the crate asks for `RowBinary`); without it, `TabSeparated`;
  `wait_end_of_query` is what the front does anyway;
- a failed statement answers 500 with ClickHouse's own message and the
  `X-ClickHouse-Exception-Code` header, which is how the crate tells errors.

Any other URL parameter (a query setting) is refused rather than ignored, so
a test never passes by silently dropping something the code relies on.
Statements run one at a time: the tests need correctness, not throughput.

Usage: server.py --path DATA_DIR --port PORT
"""

import argparse
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from chdb import session as chdb_session

INSERT = re.compile(r"^\s*(INSERT\s+INTO\s+.+?)\s+FORMAT\s+(\w+)\s*$", re.IGNORECASE | re.DOTALL)
CODE = re.compile(r"Code:\s*(\d+)")
# wait_end_of_query: this front always answers once the statement is done.
KNOWN = {"query", "database", "default_format", "wait_end_of_query"}


class Engine:
    """One chDB session over a data directory, used by one request at a time
    (`USE` and the statement after it must not interleave)."""

    def __init__(self, path):
        self.session = chdb_session.Session(path)
        self.lock = threading.Lock()

    def run(self, database, sql, output_format):
        with self.lock:
            self.session.query(f"USE {database or 'default'}")
            result = self.session.query(sql, output_format)
            return result.bytes() if result is not None else b""

    def insert(self, database, statement, input_format, rows):
        with self.lock:
            self.session.query(f"USE {database or 'default'}")
            inserter = self.session.send_insert(statement, input_format)
            if rows:
                inserter.append(rows)
            inserter.finish()


def read_body(handler):
    """The request body, whether sized or chunked."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                # Trailers, if any, end with an empty line.
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    engine = None

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def fail(self, message):
        code = CODE.search(message)
        headers = [("Content-Type", "text/plain; charset=UTF-8")]
        if code:
            headers.append(("X-ClickHouse-Exception-Code", code.group(1)))
        sys.stderr.write(f"chdb-http: {message}\n")
        self.answer(500, message.encode(), headers)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path in ("/ping", "/"):
            params = parse_qs(url.query)
            if url.path == "/" and "query" in params:
                return self.statement(params, b"")
            return self.answer(200, b"Ok.\n")
        self.answer(404, b"not found\n")

    def do_POST(self):
        url = urlsplit(self.path)
        body = read_body(self)
        self.statement(parse_qs(url.query, keep_blank_values=True), body)

    def statement(self, params, body):
        unknown = sorted(set(params) - KNOWN)
        if unknown:
            return self.fail(f"Code: 115. DB::Exception: the chDB front does not support {unknown}")
        one = lambda name: params.get(name, [""])[0]
        database, output = one("database"), one("default_format") or "TabSeparated"
        query = one("query")
        try:
            insert = INSERT.match(query) if query else None
            if insert:
                self.engine.insert(database, insert.group(1), insert.group(2), body)
                return self.answer(200, b"")
            sql = "\n".join(p for p in (query, body.decode()) if p)
            if not sql.strip():
                return self.fail("Code: 62. DB::Exception: Empty query")
            data = self.engine.run(database, sql, output)
            self.answer(200, data, [("Content-Type", "application/octet-stream")])
        except Exception as error:  # chDB raises its own and RuntimeError
            self.fail(str(error))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", required=True, help="chDB data directory")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    Handler.engine = Engine(args.path)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"chdb-http: listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
