"""Sending one rendered message on one channel: a generic webhook (JSON), a 企业微信 group robot, a
钉钉 custom robot (markdown; 加签 signed requests) or e-mail over SMTP (STARTTLS or SSL, text and
HTML, an optional attachment).

`send` never raises for what a channel does: a refused connection, a timeout, a 4xx/5xx answer, a
robot's non-zero `errcode` (a bad signature secret among them) or an SMTP refusal comes back as an
`Outcome` with the reason a person can act on. Every wait is bounded by the channel's `timeout_s`.
Secrets come from the environment variables the channel names, never from the file.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import mimetypes
import os
import smtplib
import ssl
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import urllib3

from odwatch import clock
from odwatch.i18n import t
from odwatch.settings import ChannelSettings
from reports.notify.messages import DINGTALK_MARKDOWN_BYTES, WECOM_MARKDOWN_BYTES, fit

DEFAULT_SMTP_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
SIGNATURE_HEADER = "X-Odwatch-Signature"
TIMESTAMP_HEADER = "X-Odwatch-Timestamp"
REPLY_SNIPPET = 200


@dataclass(frozen=True)
class Outcome:
    ok: bool
    code: int = 0               # HTTP status or SMTP reply code; 0 when none came back
    reason: str = ""
    elapsed_ms: int = 0


class ChannelProblem(Exception):
    """A delivery that failed; its message is the reason stored with the attempt."""

    def __init__(self, reason: str, code: int = 0):
        super().__init__(reason)
        self.code = code


def resolve(channel: ChannelSettings, environ: Mapping[str, str] | None = None) -> tuple[str | list[str], str,
                                                                                         str]:
    """(target, signing secret, SMTP password) with the environment's values filled in."""
    environ = os.environ if environ is None else environ
    target: str | list[str] = channel.target
    if channel.target_env:
        value = environ.get(channel.target_env, "")
        target = [a.strip() for a in value.split(",") if a.strip()] if channel.kind == "email" else value
    secret = environ.get(channel.secret_env, "") if channel.secret_env else ""
    password = environ.get(channel.password_env, "") if channel.password_env else ""
    return target, secret, password


def display_target(channel: ChannelSettings) -> str:
    """Where a channel sends, safe to show: a URL without its query (a robot's key), e-mail addresses."""
    if channel.target_env:
        return t("notify.target_from_env", name=channel.target_env)
    if channel.kind == "email":
        return ", ".join(channel.addresses)
    parts = urllib.parse.urlsplit(str(channel.target))
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _tls(channel: ChannelSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=channel.ca_file or None)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """钉钉 加签: HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret, base64, URL-encoded."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), to_sign, digestmod=hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The generic webhook's signature header: HMAC-SHA256 over "timestamp.body", hex."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), timestamp.encode() + b"." + body,
                                digestmod=hashlib.sha256).hexdigest()


def _with_query(url: str, **params: str) -> str:
    joiner = "&" if urllib.parse.urlsplit(url).query else "?"
    return url + joiner + "&".join(f"{k}={v}" for k, v in params.items())


@functools.lru_cache(maxsize=16)
def _pool(ca_file: str, proxy: str) -> urllib3.PoolManager:
    """Connections kept open between messages, per CA bundle and proxy: a flood of alerts costs one
    TCP and TLS handshake per robot, not one per message. Thread-safe, shared by the delivery
    threads."""
    context = ssl.create_default_context(cafile=ca_file or None)
    if proxy:
        return urllib3.ProxyManager(proxy, num_pools=16, maxsize=4, ssl_context=context, retries=False)
    return urllib3.PoolManager(num_pools=16, maxsize=4, ssl_context=context, retries=False)


def _proxy_for(url: str) -> str:
    """The proxy the environment names for this URL (https_proxy, http_proxy, no_proxy), as
    urllib.request would use it: government networks often reach the robots only through one."""
    parts = urllib.parse.urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme, "")
    return "" if not proxy or urllib.request.proxy_bypass(parts.hostname or "") else proxy


def _post_json(channel: ChannelSettings, url: str, payload: dict[str, Any],
               headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "odwatch-notify",
               **(headers or {})}
    try:
        response = _pool(channel.ca_file, _proxy_for(url)).request(
            "POST", url, body=body, headers=headers, timeout=urllib3.Timeout(channel.timeout_s),
            redirect=False, preload_content=False)
        try:
            raw = response.read(64 * 1024)
        finally:
            response.drain_conn()
            response.release_conn()
    except urllib3.exceptions.NewConnectionError as exc:       # a subclass of the timeout error
        raise ChannelProblem(_network_reason(exc.__cause__ or exc, channel)) from None
    except urllib3.exceptions.TimeoutError:
        raise ChannelProblem(t("notify.reason.timeout", seconds=f"{channel.timeout_s:g}")) from None
    except urllib3.exceptions.ProtocolError as exc:           # ("Connection aborted.", the cause)
        raise ChannelProblem(_network_reason(exc.args[-1] if exc.args else exc, channel)) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise ChannelProblem(_network_reason(exc.__cause__ or exc, channel)) from None
    if response.status >= 300:                 # a redirect is not delivery (often to a sign-in page)
        snippet = raw[:REPLY_SNIPPET].decode("utf-8", errors="replace").strip()
        detail = snippet or response.headers.get("Location", "") or response.reason
        raise ChannelProblem(t("notify.reason.http", code=response.status, detail=detail), response.status)
    return response.status, raw


def _network_reason(reason: object, channel: ChannelSettings) -> str:
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return t("notify.reason.timeout", seconds=f"{channel.timeout_s:g}")
    if isinstance(reason, ConnectionRefusedError):
        return t("notify.reason.refused")
    return t("notify.reason.network", detail=str(reason))


def _robot_reply(raw: bytes, robot: str) -> None:
    """企业微信 and 钉钉 answer HTTP 200 with {"errcode": 0, "errmsg": "ok"}; anything else failed."""
    try:
        reply = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ChannelProblem(t("notify.reason.bad_reply", robot=robot)) from None
    code = reply.get("errcode", -1) if isinstance(reply, dict) else -1
    if code != 0:
        message = reply.get("errmsg", "") if isinstance(reply, dict) else ""
        raise ChannelProblem(t("notify.reason.robot", robot=robot, code=code, detail=message))


def _webhook(channel: ChannelSettings, url: str, secret: str, body: dict[str, Any]) -> int:
    payload = {k: body[k] for k in ("kind", "title", "text", "severity", "link", "data")}
    headers = {}
    if secret:
        stamp = str(clock.epoch(clock.now()))
        raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: webhook_signature(secret, stamp, raw)}
    status, _ = _post_json(channel, url, payload, headers)
    return status


def _wecom(channel: ChannelSettings, url: str, body: dict[str, Any]) -> int:
    payload = {"msgtype": "markdown", "markdown": {"content": fit(body["markdown"], WECOM_MARKDOWN_BYTES)}}
    status, raw = _post_json(channel, url, payload)
    _robot_reply(raw, t("notify.kind.wecom"))
    return status


def _dingtalk(channel: ChannelSettings, url: str, secret: str, body: dict[str, Any]) -> int:
    if secret:
        stamp = int(clock.now().timestamp() * 1000)
        url = _with_query(url, timestamp=str(stamp), sign=dingtalk_sign(secret, stamp))
    # 钉钉's markdown needs an empty line to break a line.
    text = fit(body["markdown"].replace("\n", "\n\n"), DINGTALK_MARKDOWN_BYTES)
    payload = {"msgtype": "markdown", "markdown": {"title": body["title"], "text": text}}
    status, raw = _post_json(channel, url, payload)
    _robot_reply(raw, t("notify.kind.dingtalk"))
    return status


def email_message(channel: ChannelSettings, addresses: list[str], body: dict[str, Any],
                  attachment: Path | None) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = body["title"]             # non-ASCII: encoded as RFC 2047 words by the library
    message["From"] = channel.sender
    message["To"] = ", ".join(addresses)
    message["Date"] = formatdate(clock.epoch(clock.now()), localtime=False)
    message["Message-ID"] = make_msgid(domain=channel.sender.rpartition("@")[2] or None)
    message.set_content(body["text"])
    message.add_alternative(body["html"], subtype="html")
    if attachment is not None:
        kind = mimetypes.guess_type(attachment.name)[0] or "application/octet-stream"
        maintype, subtype = kind.split("/", 1)
        message.add_attachment(attachment.read_bytes(), maintype=maintype, subtype=subtype,
                               filename=attachment.name)
    return message


def _email(channel: ChannelSettings, addresses: list[str], password: str, body: dict[str, Any],
           attachment: Path | None) -> int:
    if not addresses:
        raise ChannelProblem(t("notify.reason.no_addresses"))
    message = email_message(channel, addresses, body, attachment)
    port = channel.smtp_port or DEFAULT_SMTP_PORTS[channel.smtp_security]
    try:
        if channel.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(channel.smtp_host, port, timeout=channel.timeout_s, context=_tls(channel))
        else:
            smtp = smtplib.SMTP(channel.smtp_host, port, timeout=channel.timeout_s)
        with smtp:
            if channel.smtp_security == "starttls":
                smtp.starttls(context=_tls(channel))
            if channel.smtp_user:
                smtp.login(channel.smtp_user, password)
            refused = smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        raise ChannelProblem(t("notify.reason.smtp", code=code, detail=_smtp_text(reply)), code) from None
    except smtplib.SMTPResponseException as exc:
        raise ChannelProblem(t("notify.reason.smtp", code=exc.smtp_code, detail=_smtp_text(exc.smtp_error)),
                             exc.smtp_code) from None
    except smtplib.SMTPNotSupportedError:
        raise ChannelProblem(t("notify.reason.no_starttls")) from None
    except (smtplib.SMTPException, ssl.SSLError) as exc:
        raise ChannelProblem(t("notify.reason.network", detail=str(exc))) from None
    except (TimeoutError, OSError) as exc:
        raise ChannelProblem(_network_reason(exc, channel)) from None
    if refused:
        address, (code, reply) = next(iter(refused.items()))
        raise ChannelProblem(t("notify.reason.smtp_partly", address=address, code=code,
                               detail=_smtp_text(reply)), code)
    return 250


def _smtp_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else str(reply)
    return text[:REPLY_SNIPPET]


def send(channel: ChannelSettings, body: dict[str, Any], attachment: Path | None = None,
         environ: Mapping[str, str] | None = None) -> Outcome:
    """Deliver a rendered message (`Message.rendered()`) once; the outcome, never an exception."""
    started = time.perf_counter()
    target, secret, password = resolve(channel, environ)
    try:
        if not target:
            raise ChannelProblem(t("notify.reason.no_target", name=channel.target_env or "target"))
        if channel.kind == "email":
            code = _email(channel, list(target) if isinstance(target, list) else [target], password, body,
                          attachment)
        elif channel.kind == "wecom":
            code = _wecom(channel, str(target), body)
        elif channel.kind == "dingtalk":
            code = _dingtalk(channel, str(target), secret, body)
        else:
            code = _webhook(channel, str(target), secret, body)
    except ChannelProblem as problem:
        return Outcome(False, problem.code, str(problem), _ms_since(started))
    return Outcome(True, code, "", _ms_since(started))


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
