"""A loopback HTTP server (127.0.0.1, a thread) with scriptable misbehaviour, for download tests. No internet."""

from __future__ import annotations

import http.server
import socket
import struct
import threading
from dataclasses import dataclass


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_length: int | None = None  # header value; None = len(body)
    content_type: str = "application/octet-stream"
    delay_headers: float = 0.0  # seconds to wait before sending anything
    chunk: int = 1 << 16  # body bytes per write
    delay_chunk: float = 0.0  # seconds to wait between body chunks
    reset_after: int | None = None  # send this many body bytes, then abort the connection with a TCP RST
    redirect: str | None = None  # 302 to this path


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802
        srv = self.server
        with srv.lock:
            srv.hits[self.path] = srv.hits.get(self.path, 0) + 1
            route = srv.routes.get(self.path)
        if route is None:
            route = Route(body=b"not found", status=404, content_type="text/plain")
        if route.delay_headers and srv.stopping.wait(route.delay_headers):
            return
        if route.redirect is not None:
            self.send_response(302)
            self.send_header("Location", route.redirect)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        length = len(route.body) if route.content_length is None else route.content_length
        self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close")
        self.end_headers()
        body = route.body if route.reset_after is None else route.body[: route.reset_after]
        try:
            for i in range(0, len(body), route.chunk):
                if i and route.delay_chunk and srv.stopping.wait(route.delay_chunk):
                    return
                self.wfile.write(body[i : i + route.chunk])
                self.wfile.flush()
        except OSError:
            return
        if route.reset_after is not None:
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()


class LocalHTTPServer:
    """``with LocalHTTPServer() as srv: srv.add("/f.pkl", Route(body=...)); url = srv.url("/f.pkl")``."""

    def __init__(self):
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, route: Route | None = None, **kwargs) -> str:
        with self._server.lock:
            self._server.routes[path] = route if route is not None else Route(**kwargs)
        return self.url(path)

    def hits(self, path: str) -> int:
        with self._server.lock:
            return self._server.hits.get(path, 0)

    def start(self) -> LocalHTTPServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> LocalHTTPServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def unused_port_url(path: str = "/x") -> str:
    """A loopback URL where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


class Blackhole:
    """A loopback port whose accept queue is full, so new connections hang in SYN-SENT (a connect timeout)."""

    def __init__(self):
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.port = self._listener.getsockname()[1]
        self._fillers = []
        for _ in range(3):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self._fillers.append(c)

    def url(self, path: str = "/x") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        for c in self._fillers:
            c.close()
        self._listener.close()

    def __enter__(self) -> Blackhole:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


if __name__ == "__main__":  # serve a file by hand: python tests/http_fixtures.py FILE
    import sys
    import time

    with LocalHTTPServer() as srv:
        with open(sys.argv[1], "rb") as f:
            print(srv.add("/file", Route(body=f.read())), flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
