"""Each channel kind against a real receiver on 127.0.0.1: what arrives has the shape the service
expects (企业微信 and 钉钉 markdown, the 钉钉 signature, e-mail with a Chinese subject, text and HTML),
and every way a delivery fails comes back as a reason, never an exception, within the timeout."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

import pytest
from notify_receivers import (
    DINGTALK_SECRET,
    HttpReceiver,
    Mailbox,
    free_port,
    self_signed_certificate,
    smtp_server,
)

from odwatch.clock import SHANGHAI
from odwatch.settings import ChannelSettings
from reports.notify import channels, messages

GROUP = {
    "group_key": "scraping|c9|d1", "group_id": "abc123", "day": datetime(2026, 11, 24).date(),
    "category": "scraping", "article": "第三十条", "severity": "critical", "consumer_id": "c9",
    "consumer_name": "王小明", "consumer_kind": "person", "key_id": "", "client_ip": "10.1.2.3",
    "dataset_id": "d1", "dataset_name": "公交线路", "agency_id": "a1", "agency_name": "市交通委",
    "alerts": 3, "first_window": datetime(2026, 11, 24, tzinfo=SHANGHAI),
    "last_window": datetime(2026, 11, 25, tzinfo=SHANGHAI), "latest_alert_id": "f00d",
}


def body(lang: str = "zh") -> dict:
    return messages.in_language(lang, lambda: messages.alert_group_message(
        GROUP, "https://odwatch.example.gov.cn").rendered())


@pytest.fixture
def http():
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


def channel(kind: str, target: str, **extra) -> ChannelSettings:
    return ChannelSettings(name=f"test-{kind}", kind=kind, target=target, **extra)


def test_a_message_is_chinese_names_no_person_and_links_to_the_alert():
    rendered = body()
    assert rendered["title"] == "【严重】批量爬取（顺序翻页）：王**"
    for text in (rendered["text"], rendered["markdown"], rendered["html"]):
        assert "王小明" not in text and "10.1.2.3" not in text
        assert "公交线路" in text and "3 条" in text
        assert "https://odwatch.example.gov.cn/triage?alert=f00d" in text
    english = body("en")
    assert english["title"].startswith("[") and english["title"].endswith("王**")
    assert "Dataset" in english["text"]


def test_generic_webhook_gets_json_and_a_verifiable_signature(http):
    outcome = channels.send(channel("webhook", http.url("webhook"), secret_env="HOOK_SECRET"), body(),
                            environ={"HOOK_SECRET": "s3cret"})
    assert outcome.ok and outcome.code == 200
    received = http.received[-1]
    assert received.body["kind"] == "alert_group" and received.body["data"]["severity"] == "critical"
    stamp = received.headers["X-Odwatch-Timestamp"]
    payload = json.dumps(received.body, ensure_ascii=False).encode()
    expected = "sha256=" + hmac.new(b"s3cret", stamp.encode() + b"." + payload, hashlib.sha256).hexdigest()
    assert received.headers["X-Odwatch-Signature"] == expected


def test_wecom_robot_gets_its_markdown_message(http):
    outcome = channels.send(channel("wecom", http.url("wecom")), body())
    assert outcome.ok, outcome.reason
    sent = http.bodies("wecom")[-1]
    assert sent["msgtype"] == "markdown" and sent["markdown"]["content"].startswith("### 【严重】")


def test_dingtalk_robot_checks_the_signature(http):
    good = channels.send(channel("dingtalk", http.url("dingtalk"), secret_env="DD_SECRET"), body(),
                         environ={"DD_SECRET": DINGTALK_SECRET})
    assert good.ok, good.reason
    sent = http.bodies("dingtalk")[-1]
    assert sent["markdown"]["title"].startswith("【严重】") and "\n\n" in sent["markdown"]["text"]
    bad = channels.send(channel("dingtalk", http.url("dingtalk"), secret_env="DD_SECRET"), body(),
                        environ={"DD_SECRET": "not-the-secret"})
    assert not bad.ok and "310000" in bad.reason and "sign not match" in bad.reason


def test_http_errors_refusals_and_silence_are_reasons(http):
    broken = channels.send(channel("webhook", http.url("broken")), body())
    assert (broken.ok, broken.code) == (False, 500) and "HTTP 500" in broken.reason
    refused = channels.send(channel("webhook", f"http://127.0.0.1:{free_port()}/x"), body())
    assert not refused.ok and refused.reason == "连接被拒绝"
    silent = channels.send(channel("webhook", http.url("silent"), timeout_s=1), body())
    assert not silent.ok and silent.reason == "1 秒内无应答" and silent.elapsed_ms >= 900
    moved = channels.send(channel("webhook", http.url("moved")), body())
    assert (moved.ok, moved.code) == (False, 302)                   # a redirect is not delivery


def test_messages_go_through_the_proxy_the_environment_names(http, monkeypatch):
    """Government networks often reach the robots only through a proxy: https_proxy / http_proxy."""
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{http.server.server_address[1]}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    sent = channels.send(channel("webhook", "http://robot.example.invalid/webhook"), body())
    assert sent.ok, sent.reason                  # the name does not resolve: only the proxy reached it
    assert http.received[-1].headers["Host"] == "robot.example.invalid"


def test_a_target_from_a_missing_environment_variable_is_a_reason():
    outcome = channels.send(ChannelSettings(name="w", kind="webhook", target_env="NO_SUCH_URL"), body(),
                            environ={})
    assert not outcome.ok and "NO_SUCH_URL" in outcome.reason


def test_email_over_smtp_has_a_chinese_subject_text_and_html():
    mailbox = Mailbox()
    server = smtp_server(mailbox)
    try:
        mail = ChannelSettings(name="mail", kind="email",
                               target=["duty@odwatch.example", "lead@odwatch.example"],
                               smtp_host="127.0.0.1", smtp_port=server.port, smtp_security="none",
                               sender="odwatch@odwatch.example")
        outcome = channels.send(mail, body())
        assert outcome.ok, outcome.reason
        sender, recipients, message = mailbox.messages[-1]
        assert sender == "odwatch@odwatch.example"
        assert recipients == ["duty@odwatch.example", "lead@odwatch.example"]
        assert message["Subject"] == "【严重】批量爬取（顺序翻页）：王**"
        assert message.get_body(("plain",)).get_content().startswith("【严重】")
        assert "<table>" in message.get_body(("html",)).get_content()
        refused = channels.send(mail.model_copy(update={"target": ["x@refused.example"]}), body())
        assert not refused.ok and refused.code == 550 and "mailbox unavailable" in refused.reason
    finally:
        server.stop()


def test_email_with_starttls_verifies_the_server_and_attaches_a_file(tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    mailbox = Mailbox()
    server = smtp_server(mailbox, cert, key)
    report = tmp_path / "平台运行情况报告-2026-11.pdf"
    report.write_bytes(b"%PDF-1.4 test")
    try:
        mail = ChannelSettings(name="mail", kind="email", target="duty@odwatch.example",
                               smtp_host="127.0.0.1", smtp_port=server.port, smtp_security="starttls",
                               sender="odwatch@odwatch.example", ca_file=str(cert))
        outcome = channels.send(mail, body(), attachment=report)
        assert outcome.ok, outcome.reason
        message = mailbox.messages[-1][2]
        files = [part for part in message.iter_attachments()]
        assert [f.get_filename() for f in files] == [report.name]
        assert files[0].get_content() == b"%PDF-1.4 test"
        untrusted = channels.send(mail.model_copy(update={"ca_file": ""}), body())
        assert not untrusted.ok and "CERTIFICATE_VERIFY_FAILED" in untrusted.reason
    finally:
        server.stop()
