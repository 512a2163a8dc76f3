"""The [notify] tables of odwatch.toml: typed and validated, an unknown nested key named with the
closest one, a reference to a channel that does not exist named, secrets only from the environment;
`odwatch notify test` and `odwatch serve` report a configuration error at start, naming the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from notify_receivers import HttpReceiver

from odwatch.errors import UserError
from odwatch.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
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


@pytest.fixture
def environment(monkeypatch):
    with monkeypatch.context() as patch:
        get_settings.cache_clear()
        yield patch
    get_settings.cache_clear()


def config(tmp_path: Path, text: str, environment) -> Path:
    path = tmp_path / "odwatch.toml"
    path.write_text(text, encoding="utf-8")
    environment.setenv("ODWATCH_CONFIG", str(path))
    return path


def test_channels_escalation_and_schedules_are_read_typed(tmp_path, environment):
    config(tmp_path, CHANNELS.format(url="https://hooks.example/x"), environment)
    notify = get_settings().notify
    assert [c.name for c in notify.channels] == ["duty", "dd"]
    assert notify.channels[0].min_severity == "critical" and notify.channels[1].min_severity == "high"
    assert notify.escalation.minutes == 20 and notify.escalation.severities == ["critical"]
    assert notify.schedules[0].kind == "daily_digest" and notify.schedules[0].at == "08:00"
    assert notify.dashboard_url == "https://odwatch.example.gov.cn"


@pytest.mark.parametrize(("change", "named"), [
    (("min_severity = \"critical\"", "min_severity = \"critical\"\ntargt = \"x\""),
     "notify.channels[0].targt (ODWATCH_NOTIFY or notify in"),
    (("min_severity = \"critical\"", "min_severity = \"critical\"\ntargt = \"x\""), "did you mean 'target'?"),
    (("minutes = 20", "minutes = 20\nminuets = 5"), "notify.escalation.minuets"),
    (("minutes = 20", "minutes = 20\nminuets = 5"), "did you mean 'minutes'?"),
    (("channels = [\"dd\"]", "channels = [\"pager\"]"),
     "escalation.channels names 'pager', which is not a channel"),
    (("kind = \"webhook\"", "kind = \"sms\""), "notify.channels[0].kind"),
    (("min_severity = \"critical\"", "min_severity = \"urgent\""), "notify.channels[0].min_severity"),
    (("at = \"08:00\"", "at = \"8 am\""), "at must be a time of day like 09:30"),
    (("target = \"{url}\"", "target = \"ftp://x\""), "target must be an http(s) URL"),
    (("secret_env = \"ODW_TEST_DD_SECRET\"", "secret_env = \"not a name\""),
     "is not an environment variable name"),
])
def test_a_mistake_in_the_notify_tables_names_the_key(tmp_path, environment, change, named):
    old, new = change
    config(tmp_path, CHANNELS.replace(old, new).format(url="https://hooks.example/x"), environment)
    with pytest.raises(UserError) as raised:
        get_settings()
    assert named in str(raised.value)


def odwatch(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ODW_TEST_")}
    return subprocess.run([sys.executable, "-m", "odwatch", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**clean, "ODWATCH_DATA_DIR": str(tmp_path / "data"), **env})


def test_notify_test_and_serve_name_a_missing_secret_at_start(tmp_path):
    path = tmp_path / "odwatch.toml"
    path.write_text(CHANNELS.format(url="https://hooks.example/x"), encoding="utf-8")
    for args in (["notify", "test", "duty"], ["serve", "--port", "1"]):
        done = odwatch(tmp_path, *args, ODWATCH_CONFIG=str(path))
        assert done.returncode == 2, done.stdout + done.stderr
        message = " ".join(done.stderr.split())
        expected = "notify.channels[1] (dd).target_env: the environment variable ODW_TEST_DD_URL is not set"
        assert expected in message
        assert "ODW_TEST_DD_SECRET is not set" in message
        assert "Traceback" not in done.stderr and "Dashboard on" not in done.stdout


def test_notify_test_sends_to_a_real_receiver_and_says_when_it_failed(tmp_path):
    receiver = HttpReceiver().start()
    try:
        path = tmp_path / "odwatch.toml"
        down = ('\n[[notify.channels]]\nname = "down"\nkind = "webhook"\n'
                f'target = "{receiver.url("broken")}"\n')
        path.write_text(CHANNELS.format(url=receiver.url("webhook")) + down, encoding="utf-8")
        env = {"ODWATCH_CONFIG": str(path), "ODW_TEST_DD_URL": receiver.url("dingtalk"),
               "ODW_TEST_DD_SECRET": "SEC-test-secret-0123456789"}
        sent = odwatch(tmp_path, "notify", "test", "duty", **env)
        assert sent.returncode == 0 and "Sent a test message to duty" in sent.stdout, sent.stderr
        assert receiver.bodies("webhook")[-1]["title"] == "公共数据开放监管平台测试消息"
        signed = odwatch(tmp_path, "notify", "test", "dd", **env)
        assert signed.returncode == 0, signed.stderr
        failed = odwatch(tmp_path, "notify", "test", "down", **env)
        assert failed.returncode == 1 and "HTTP 500" in failed.stderr and "Traceback" not in failed.stderr
        unknown = odwatch(tmp_path, "notify", "test", "pager", **env)
        assert unknown.returncode == 2 and "No notification channel named 'pager'" in unknown.stderr
        ran = odwatch(tmp_path, "notify", "run", **env)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "0 new alert group(s)" in ran.stdout
    finally:
        receiver.stop()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_computed_notification_and_violation_key_exists(lang):
    from detectors import violations
    from odwatch.i18n import catalog
    from odwatch.settings import ChannelSettings, ScheduleSettings

    kinds = ChannelSettings.model_fields["kind"].annotation.__args__
    scheduled = ScheduleSettings.model_fields["kind"].annotation.__args__
    messages = ("alert_group", "escalation", "test", *scheduled)
    computed = ([f"vsrc.source.{s}" for s in violations.SOURCES] + [f"notify.kind.{k}" for k in kinds]
                + [f"admin.notify.message_kind.{m}" for m in messages] + ["admin.jobs.notify",
                                                                          "pages.triage.action.escalate"])
    assert [key for key in computed if key not in catalog(lang)] == []
