"""Alert text (detectors/messages.py) in the reader's language: stored as a message key and parameters,
rendered with names on the triage page, in the CLI and in exports; an alert stored before (a title only)
still shows."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import database_in_environment, fresh_database
from independent_log import DAYS, write_platform
from page_apps import render
from typer.testing import CliRunner

from dashboard.auth import User
from dashboard.session import today
from detectors.runner import run_detectors
from odwatch.cli import app
from odwatch.i18n import catalog

ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{2,}(\s+[A-Za-z]{2,}){2,}")
LEGACY_TITLE = "c7 made 900 calls an hour, 30x its usual 30"
BURSTER_NAME = "上海示例数据科技有限公司"


@pytest.fixture(scope="module")
def platform():
    settings, client = fresh_database("t_messages")
    log = write_platform(client, today() - timedelta(days=DAYS + 2))
    client.insert(
        "consumers", [["burster", BURSTER_NAME, "company"]], column_names=["consumer_id", "name", "kind"]
    )
    client.insert(
        "datasets",
        [["ds-big", "agency", "公交到站预报", "unconditional", 20_000]],
        column_names=["dataset_id", "agency_id", "name", "open_class", "row_count"],
    )
    assert run_detectors(client, settings, until=log.at(DAYS, 0)).errors == {}
    # An alert written before alerts kept a message key: its title is all it has.
    start = log.at(DAYS - 1, 0)
    client.insert(
        "alerts",
        [
            [
                "legacy-1",
                "burst",
                "burst",
                "第三十条",
                "low",
                1.2,
                "c7",
                "",
                "",
                "",
                "",
                start,
                start + timedelta(days=1),
                LEGACY_TITLE,
                "{}",
                "burst|c7|",
            ]
        ],
        column_names=[
            "alert_id",
            "detector_id",
            "category",
            "article",
            "severity",
            "score",
            "consumer_id",
            "key_id",
            "client_ip",
            "dataset_id",
            "agency_id",
            "window_start",
            "window_end",
            "title",
            "evidence",
            "group_key",
        ],
    )
    with database_in_environment(settings.clickhouse_database):
        yield client


def triage_page(lang: str):
    return render("triage", User("sam", "security"), lang=lang)


def test_every_message_key_a_detector_writes_is_in_both_catalogs():
    source = "\n".join(p.read_text(encoding="utf-8") for p in Path("detectors").glob("*.py"))
    keys = set(re.findall(r'"(alerts\.[a-z_]+(?:\.[a-z_]+)*)"', source)) - {"alerts.term", "alerts.evidence"}
    keys |= {f"alerts.outside_validity.{r}" for r in ("after_expiry", "before_start")}
    keys |= {f"alerts.quota_exceeded.{q}" for q in ("calls", "rows", "calls_rows")}
    keys |= {f"alerts.burst.{b}" for b in ("peers", "absolute")}
    zh = json.loads(Path("odwatch/locales/alerts.zh.json").read_text(encoding="utf-8"))
    en = json.loads(Path("odwatch/locales/alerts.en.json").read_text(encoding="utf-8"))
    assert set(zh) == set(en) and all(v.strip() for v in [*zh.values(), *en.values()])
    assert len(keys) > 25 and keys - set(zh) == set()


def test_the_chinese_triage_page_shows_no_english_alert_sentence(platform):
    page = triage_page("zh")
    queue = page.dataframe[0].value
    titles = list(queue["告警"])
    new = [t for t in titles if t != LEGACY_TITLE]
    assert len(new) >= 7 and LEGACY_TITLE in titles  # the old alert still shows, as stored
    assert [t for t in new if ENGLISH_SENTENCE.search(t)] == []
    # Names, not ids: the consumer and the dataset as a reader knows them.
    assert f"{BURSTER_NAME}历史不足，每小时调用 601 次，超过无基线时的上限（300 次/小时）" in new
    assert any("数据集「公交到站预报」" in t for t in new)
    assert set(queue["类别"]) >= {
        catalog("zh")[f"pages.triage.cat.{c}"] for c in ("scanning", "injection", "distributed_scraping")
    }
    # The detail of the injection attempt: its title and the evidence summary, in Chinese.
    alert_id = next(r for r, t in zip(queue["告警编号"], titles, strict=True) if "注入攻击" in t)
    page.selectbox(key="triage_detail").set_value(alert_id).run()
    shown = [re.sub(r"\\(.)", r"\1", m.value) for m in page.markdown]    # escaped markdown, as read
    assert any(m.startswith("**匿名地址 91.200.12.4发起注入攻击尝试 1 次") for m in shown)
    summary = next(f.value for f in page.dataframe if "项目" in f.value.columns)
    assert {"注入尝试次数", "攻击类型"} <= set(summary["项目"])
    assert "SQL 注入" in set(summary["内容"])


def test_the_english_triage_page_renders_the_same_alerts_in_english(platform):
    queue = triage_page("en").dataframe[0].value
    titles = list(queue["Alert"])
    assert any(t.startswith(f"{BURSTER_NAME}, with too little history") for t in titles)
    assert any(
        t.startswith("anonymous 91.200.12.4 made 1 injection attempt(s) (SQL injection)") for t in titles
    )


def test_cli_list_and_export_render_titles_in_the_chosen_language(platform, tmp_path):
    runner = CliRunner()
    chinese = runner.invoke(app, ["alerts", "list", "--json", "--category", "injection"])
    assert chinese.exit_code == 0, chinese.output
    [row] = json.loads(chinese.output)
    assert (
        row["title"].startswith("匿名地址 91.200.12.4发起注入攻击尝试")
        and row["message_key"] == "alerts.injection"
    )
    out = tmp_path / "alerts.jsonl"
    exported = runner.invoke(
        app, ["alerts", "export", "--format", "jsonl", "--lang", "en", "--out", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    by_id = {r["alert_id"]: r for r in records}
    assert by_id["legacy-1"]["title"] == LEGACY_TITLE and by_id["legacy-1"]["message_key"] == ""
    scan = next(r for r in records if r["category"] == "scanning" and r["client_ip"] == "185.100.87.1")
    assert scan["title"] == (
        "anonymous 185.100.87.1 scanned 1 sensitive path(s) (e.g. /wp-login.php); 1 distinct paths refused"
    )
    assert scan["message_params"] == {"paths": 1, "refused_paths": 1, "sample": "/wp-login.php"}
    refused = runner.invoke(app, ["alerts", "list", "--lang", "fr"])
    assert refused.exit_code != 0 and "Unknown language 'fr'" in str(refused.exception)
