"""A feed read from an http(s) URL (a real local server): the records validated, a server error
a typed error naming the feed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from outreach.feeds import FeedError, read_weather

pytestmark = pytest.mark.integration

RECORD = {
    "id": "W1",
    "city": "杭州",
    "kind": "rainstorm",
    "level": "黄",
    "starts": "2026-11-04T16:00:00+08:00",
    "ends": "2026-11-06T08:00:00+08:00",
}


@pytest.fixture
def feed_server() -> Iterator[str]:
    body = json.dumps([RECORD]).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/weather":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(503)
                self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_feed_from_a_url(feed_server: str) -> None:
    [warning] = read_weather(f"{feed_server}/weather")
    assert warning.city == "杭州"
    with pytest.raises(FeedError, match="cannot fetch"):
        read_weather(f"{feed_server}/down")
