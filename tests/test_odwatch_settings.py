"""Settings: every knob from the environment (ODWATCH_*) or odwatch.toml, and a mistake in either is
one sentence naming the key, never a setting silently dropped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def run_odwatch(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The installed `odwatch` command in a process of its own, on a data directory of its own."""
    command = Path(sys.executable).parent / "odwatch"
    return subprocess.run([str(command), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ODWATCH_DATA_DIR": str(tmp_path / "data"), **env})


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
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "ODWATCH_CACHE_ENTRIES": "7"})
    assert result.stdout.strip() == "7", result.stderr
