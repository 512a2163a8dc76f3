"""Real receivers on loopback (127.0.0.1) for the notification tests: an HTTP server with a generic
webhook, 企业微信- and 钉钉-shaped robot endpoints (checking the payload shape and the 钉钉 signature
as those services do), a receiver that fails twice then succeeds, one that fails always and one that
never answers; and an SMTP server (aiosmtpd), with STARTTLS when given a certificate."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import subprocess
import threading
import urllib.parse
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller
from odwatch_processes import free_port

DINGTALK_SECRET = "SEC-test-secret-0123456789"
SILENT_HOLD_S = 30          # the silent endpoint holds a request at most this long, then lets go

# A [notify] configuration: a webhook channel (its target to fill in with .format(url=...)), a 钉钉
# channel whose address and secret come from the environment, an escalation and a daily digest.
CHANNELS = """
[notify]
dashboard_url = "https://odwatch.example.gov.cn"

[[notify.channels]]
name = "duty"
kind = "webhook"
target = "{url}"
min_severity = "critical"

[[notify.channels]]
name = "dd"
kind = "dingtalk"
target_env = "ODW_TEST_DD_URL"
secret_env = "ODW_TEST_DD_SECRET"

[notify.escalation]
channels = ["dd"]
minutes = 20

[[notify.schedules]]
kind = "daily_digest"
channels = ["duty"]
at = "08:00"
"""


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict


@dataclass
class HttpReceiver:
    """Endpoints: /webhook, /wecom, /dingtalk, /flaky (503 twice, then 200), /broken (always 500),
    /silent (never answers), /moved (302, as a gateway sending to its sign-in page). Requests sent
    through it as a proxy are routed by their path too (their Host header names the real target)."""

    received: list[Received] = field(default_factory=list)
    flaky_calls: int = 0
    release: threading.Event = field(default_factory=threading.Event)

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:       # keep the test output clean
                pass

            def _answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                query = dict(urllib.parse.parse_qsl(parts.query))
                receiver.received.append(Received(parts.path, query, dict(self.headers), body))
                route = getattr(receiver, "route_" + parts.path.strip("/"), None)
                if route is None:
                    self._answer(404, {"error": "no such endpoint"})
                    return
                status, payload = route(body, query)
                if status:
                    self._answer(status, payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{path}"

    def bodies(self, path: str) -> list[dict]:
        return [r.body for r in self.received if r.path == f"/{path}"]

    # ---- endpoints: (status, payload); status 0 answers nothing ----

    def route_webhook(self, body: dict, query: dict) -> tuple[int, dict]:
        ok = {"kind", "title", "text", "link", "data"} <= set(body)
        return (200, {"ok": True}) if ok else (400, {"error": "not an odwatch message"})

    def route_moved(self, body: dict, query: dict) -> tuple[int, dict]:
        return 302, {"location": "/sign-in"}

    def route_wecom(self, body: dict, query: dict) -> tuple[int, dict]:
        content = body.get("markdown", {}).get("content") if body.get("msgtype") == "markdown" else None
        if not isinstance(content, str) or len(content.encode()) > 4096:
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    def route_dingtalk(self, body: dict, query: dict) -> tuple[int, dict]:
        timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
        to_sign = f"{timestamp}\n{DINGTALK_SECRET}".encode()
        digest = hmac.new(DINGTALK_SECRET.encode(), to_sign, hashlib.sha256).digest()
        expected = base64.b64encode(digest).decode()
        if not timestamp or sign != expected:           # parse_qsl has already URL-decoded the sign
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        markdown = body.get("markdown", {})
        if body.get("msgtype") != "markdown" or not markdown.get("title") or not markdown.get("text"):
            return 200, {"errcode": 40035, "errmsg": "missing parameter"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    def route_flaky(self, body: dict, query: dict) -> tuple[int, dict]:
        self.flaky_calls += 1
        return (503, {"error": "busy"}) if self.flaky_calls <= 2 else (200, {"ok": True})

    def route_broken(self, body: dict, query: dict) -> tuple[int, dict]:
        return 500, {"error": "internal"}

    def route_silent(self, body: dict, query: dict) -> tuple[int, dict]:
        self.release.wait(SILENT_HOLD_S)
        return 0, {}


class Mailbox:
    """An aiosmtpd handler keeping every message; addresses at refused.example are refused."""

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted"


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (openssl), so STARTTLS is verified as against a real server."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def smtp_server(mailbox: Mailbox, cert: Path | None = None, key: Path | None = None) -> Controller:
    options = {}
    if cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        options = {"tls_context": context, "require_starttls": True}
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller
