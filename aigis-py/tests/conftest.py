"""Fixtures: a real SQLite shop database and a fake OpenAI-compatible chat server.

The fake server speaks the real chat-completions wire format over HTTP (SSE chunks with
`choices[0].delta.content`, a usage chunk, `data: [DONE]`), replying from a script, so the
tests exercise the real provider, the real SQLite connection and the real engine.
"""

import json
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import aigis

MODEL = "fake-model"
API_KEY = "sk-test-secret-0123456789"


class Reply:
    """One scripted model reply: text streamed in chunks, or an HTTP error status."""

    def __init__(self, text="", *, chunk=6, delay=0.0, status=200, usage=(11, 7)):
        self.text = text
        self.chunk = chunk
        self.delay = delay
        self.status = status
        self.usage = usage


class FakeOpenAI:
    """A scripted OpenAI-compatible server on 127.0.0.1, in a thread."""

    def __init__(self):
        self.replies = []
        self.requests = []
        self.headers = []
        self.disconnected = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                fake.requests.append(json.loads(body))
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                if not self.path.endswith("/chat/completions"):
                    self.send_error(404)
                    return
                reply = fake.replies.pop(0) if fake.replies else Reply("(no more scripted replies)")
                if reply.status != 200:
                    self._error(reply.status)
                    return
                if fake.requests[-1].get("stream"):
                    self._stream(reply)
                else:
                    self._complete(reply)

            def _error(self, status):
                payload = json.dumps({"error": {"message": "scripted failure", "type": "invalid_request_error"}})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload.encode())

            def _complete(self, reply):
                payload = json.dumps({
                    "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": MODEL,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": reply.usage[0], "completion_tokens": reply.usage[1],
                              "total_tokens": sum(reply.usage)},
                })
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload.encode())

            def _chunk(self, choices, **extra):
                data = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": MODEL, "choices": choices, **extra}
                self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()

            def _stream(self, reply):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                try:
                    self._chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
                    for i in range(0, len(reply.text), reply.chunk):
                        piece = reply.text[i:i + reply.chunk]
                        self._chunk([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
                        time.sleep(reply.delay)
                    self._chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}])
                    self._chunk([], usage={"prompt_tokens": reply.usage[0], "completion_tokens": reply.usage[1],
                                           "total_tokens": sum(reply.usage)})
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    fake.disconnected.set()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def script(self, *replies):
        self.replies = [r if isinstance(r, Reply) else Reply(r) for r in replies]
        return self

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def llm():
    server = FakeOpenAI()
    yield server
    server.close()


SHOP = """
CREATE TABLE stores (store_id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL);
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT,
                        store_id INTEGER NOT NULL REFERENCES stores(store_id));
CREATE TABLE products (product_id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(customer_id),
                     store_id INTEGER NOT NULL REFERENCES stores(store_id), ordered_at TEXT NOT NULL);
CREATE TABLE order_items (order_id INTEGER NOT NULL REFERENCES orders(order_id),
                          product_id INTEGER NOT NULL REFERENCES products(product_id),
                          quantity INTEGER NOT NULL, PRIMARY KEY (order_id, product_id));
"""


def build_shop(path):
    """A small deterministic shop database (3 stores, 12 customers, 40 orders)."""
    db = sqlite3.connect(path)
    db.executescript(SHOP)
    db.executemany("INSERT INTO stores VALUES (?, ?, ?)",
                   [(1, "Harbour", "Lisbon"), (2, "Old Town", "Porto"), (3, "Riverside", "Coimbra")])
    db.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)",
                   [(i, f"Customer {i}", f"c{i}@example.com", 1 + i % 3) for i in range(1, 13)])
    db.executemany("INSERT INTO products VALUES (?, ?, ?)",
                   [(i, f"Product {i}", 2.5 * i) for i in range(1, 9)])
    db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)",
                   [(i, 1 + i % 12, 1 + (i * 7) % 3, f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}") for i in range(1, 41)])
    db.executemany("INSERT INTO order_items VALUES (?, ?, ?)",
                   [(o, 1 + (o + 3 * k) % 8, k) for o in range(1, 41) for k in (1, 2)])
    db.commit()
    db.close()


@pytest.fixture
def shop_db(tmp_path):
    path = tmp_path / "shop.db"
    build_shop(path)
    return path


@pytest.fixture
def make_assistant(llm, shop_db):
    """Builds an Assistant over the shop database and the fake model."""

    def make(**options):
        return aigis.Assistant(db=f"sqlite://{shop_db}", base_url=llm.base_url, model=MODEL, api_key=API_KEY, **options)

    return make
