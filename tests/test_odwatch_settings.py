"""Settings (odwatch/settings.py): every knob from the environment (ODWATCH_*) or odwatch.toml, and a
mistake in either is one sentence naming the key, never a setting silently dropped; the [notify] tables
typed and validated, an unknown nested key named with the closest one, a reference to a channel that
does not exist named, secrets only from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from notify_receivers import CHANNELS
from odwatch_processes import run_odwatch, run_python

from dashboard import jobs
from odwatch.errors import UserError
from odwatch.settings import Settings, get_settings


@pytest.fixture
def environment(monkeypatch):
    """Change the environment for one test; the process's settings are read again around it."""
    with monkeypatch.context() as patch:
        get_settings.cache_clear()
        yield patch
    get_settings.cache_clear()


def config(tmp_path: Path, text: str, environment) -> Path:
    path = tmp_path / "odwatch.toml"
    path.write_text(text, encoding="utf-8")
    environment.setenv("ODWATCH_CONFIG", str(path))
    return path


def test_the_defaults_an_operator_may_tune():
    settings = Settings()
    assert (settings.spool_every_s, settings.detect_every_s, settings.evaluate_every_s) == (30, 900, 60)
    assert settings.cache_entries == 256
    assert (settings.signin_free_failures, settings.signin_first_delay_s, settings.signin_max_delay_s,
            settings.signin_window_minutes, settings.min_password_length) == (5, 2, 900, 60, 8)
    assert settings.signin_trusted_header == "" and settings.audit_checkpoint_every_s == 600


def test_toml_keys_are_read_and_the_environment_wins(tmp_path, environment):
    config(tmp_path, "spool_every_s = 5\ncache_entries = 32\n\n[evaluation_weights]\nquality = 30\n",
           environment)
    environment.setenv("ODWATCH_SPOOL_EVERY_S", "7")
    settings = get_settings()
    assert (settings.spool_every_s, settings.cache_entries) == (7, 32)
    assert settings.evaluation_weights == {"quality": 30}


@pytest.mark.parametrize(("text", "key", "closest"), [
    ("[evaluation_weight]\nquality = 30\n", "evaluation_weight", "evaluation_weights"),
    ("detect_evry_s = 60\n", "detect_evry_s", "detect_every_s"),
    ("spool_every = 10\n", "spool_every", "spool_every_s"),
])
def test_an_unknown_key_names_itself_the_file_and_the_closest_setting(tmp_path, environment, text, key,
                                                                      closest):
    path = config(tmp_path, text, environment)
    with pytest.raises(UserError) as raised:
        get_settings()
    message = str(raised.value)
    assert f"'{key}'" in message and str(path) in message and f"did you mean '{closest}'?" in message


def test_an_unknown_key_with_nothing_close_is_still_named(tmp_path, environment):
    config(tmp_path, "colour = 'blue'\n", environment)
    with pytest.raises(UserError, match=r"Unknown setting 'colour' in .*odwatch\.toml\.$"):
        get_settings()


def test_a_bad_value_names_the_setting_and_its_environment_variable(environment):
    environment.setenv("ODWATCH_DETECT_EVERY_S", "soon")
    with pytest.raises(UserError, match="detect_every_s .*ODWATCH_DETECT_EVERY_S"):
        get_settings()
    environment.setenv("ODWATCH_DETECT_EVERY_S", "0")                    # an interval is at least 1 s
    with pytest.raises(UserError, match="detect_every_s"):
        get_settings()


def test_a_broken_or_missing_config_file_is_a_sentence(tmp_path, environment):
    path = config(tmp_path, "spool_every_s = = 5\n", environment)
    with pytest.raises(UserError, match=f"{path} is not valid TOML"):
        get_settings()
    environment.setenv("ODWATCH_CONFIG", str(tmp_path / "nowhere.toml"))
    with pytest.raises(UserError, match="nowhere.toml, which is not a file"):
        get_settings()


def test_other_environment_variables_never_break_loading(environment):
    for name, value in {"ODWATCH_DEBUG": "1", "ODWATCH_SERVE_JOBS": "1", "ODWATCH_NOT_A_SETTING": "x",
                        "ODWATCH_": "", "odwatch_spool": "y", "SPOOL_EVERY_S": "nonsense"}.items():
        environment.setenv(name, value)
    assert get_settings().spool_every_s == 30


def test_the_jobs_run_at_the_intervals_of_the_settings(environment):
    environment.setenv("ODWATCH_SPOOL_EVERY_S", "11")
    environment.setenv("ODWATCH_DETECT_EVERY_S", "22")
    environment.setenv("ODWATCH_EVALUATE_EVERY_S", "33")
    environment.setenv("ODWATCH_AUDIT_CHECKPOINT_EVERY_S", "44")
    scheduler = jobs.build_scheduler(get_settings())
    assert {name: status.every_s for name, status in scheduler.jobs.items()} == {
        "spool_ingest": 11, "detectors": 22, "evaluation": 33, "audit_checkpoint": 44}


def test_the_cli_says_which_key_is_unknown_and_exits_2(tmp_path):
    path = tmp_path / "odwatch.toml"
    path.write_text("detect_evry_s = 60\n", encoding="utf-8")
    result = run_odwatch(tmp_path, "migrate", ODWATCH_CONFIG=str(path))
    assert result.returncode == 2
    assert "Unknown setting 'detect_evry_s'" in result.stderr and "detect_every_s" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "data").exists()                  # nothing was done with the bad settings


def test_the_process_cache_takes_its_size_from_the_settings(tmp_path):
    probe = "from warehouse.cache import shared_cache; print(shared_cache().size)"
    result = run_python(tmp_path, probe, ODWATCH_CACHE_ENTRIES="7")
    assert result.stdout.strip() == "7", result.stderr


# ---- The [notify] tables -----------------------------------------------------------------------------------

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
