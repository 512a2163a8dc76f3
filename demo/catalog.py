"""Reference data of the demo platform: agencies, catalog, consumers, keys, applications,
agreements, usage reports and complaints.

Everything is drawn from one seeded `numpy.random.Generator`, so a (seed, until) pair always
gives the same platform. Rows are plain dicts keyed by the table columns of
warehouse/migrations/0001_reference.sql; the generator keeps a little side information
(each consumer's addresses, each agreement's expected daily calls) that the traffic
generator needs and that is never written out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np

from demo import vocab
from odwatch import codes
from odwatch.calendar import add_working_days
from odwatch.clock import SHANGHAI
from reports.evaluation import FREQUENCY_LABELS

REFERENCE_START = date(2024, 1, 1)
LOG_DAYS = 180
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
NAME_VARIANTS = ("按月", "按区", "历史", "年度汇总", "明细", "按季度")


@dataclass(frozen=True)
class Scale:
    datasets: int
    consumers: int
    agreements: int
    anon_ips: int
    episodes: int  # per episode type
    events: int  # target size of the access log


SCALES = {
    # `events` is the target size of the log; at small the episodes and their baselines are a third of it.
    "small": Scale(datasets=240, consumers=260, agreements=170, anon_ips=600, episodes=8, events=32_000),
    "medium": Scale(
        datasets=1200, consumers=2500, agreements=1300, anon_ips=12_000, episodes=24, events=2_000_000
    ),
    "large": Scale(
        datasets=3000, consumers=9000, agreements=4500, anon_ips=50_000, episodes=40, events=10_000_000
    ),
}


@dataclass
class Platform:
    """The reference tables plus the side information the traffic generator needs."""

    until: date
    scale: Scale
    agencies: list[dict] = field(default_factory=list)
    datasets: list[dict] = field(default_factory=list)
    consumers: list[dict] = field(default_factory=list)
    api_keys: list[dict] = field(default_factory=list)
    applications: list[dict] = field(default_factory=list)
    agreements: list[dict] = field(default_factory=list)
    usage_reports: list[dict] = field(default_factory=list)
    complaints: list[dict] = field(default_factory=list)
    consumer_ips: dict[str, list[str]] = field(default_factory=dict)  # lawful source addresses
    consumer_allowlist: dict[str, list[str]] = field(default_factory=dict)
    consumer_key: dict[str, str] = field(default_factory=dict)  # the key its software uses
    agreement_rate: dict[str, float] = field(default_factory=dict)  # expected calls per workday
    reserved: set[str] = field(default_factory=set)  # agreements no (further) episode may use
    overdue_reports: set[str] = field(default_factory=set)
    _ip_counter: dict[str, int] = field(default_factory=dict)

    @property
    def log_start(self) -> date:
        # The access log covers the LOG_DAYS whole days before `until` (never a future hour).
        return self.until - timedelta(days=LOG_DAYS)

    def dataset(self, dataset_id: str) -> dict:
        return self._datasets_by_id[dataset_id]

    def index(self) -> None:
        self._datasets_by_id = {d["dataset_id"]: d for d in self.datasets}

    def reference_tables(self) -> dict[str, list[dict]]:
        return {
            "agencies": self.agencies,
            "datasets": self.datasets,
            "consumers": self.consumers,
            "api_keys": self.api_keys,
            "applications": self.applications,
            "agreements": self.agreements,
            "usage_reports": self.usage_reports,
            "complaints": self.complaints,
        }


def at(day: date, hour: float) -> datetime:
    """A Shanghai datetime on `day` at a fractional hour, to the second."""
    seconds = int(hour * 3600)
    return datetime.combine(day, time(seconds // 3600, seconds % 3600 // 60, seconds % 60), SHANGHAI)


def office_time(rng: np.random.Generator, day: date) -> datetime:
    return at(day, float(rng.uniform(9.0, 17.5)))


def random_day(rng: np.random.Generator, start: date, end: date) -> date:
    return start + timedelta(days=int(rng.integers(0, max(1, (end - start).days + 1))))


# ---------------------------------------------------------------- credit codes (GB 32100-2015)


def organisation_code(body: str) -> str:
    """GB 11714 organisation code: eight digits plus a check character."""
    total = sum(int(ch) * w for ch, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def make_credit_code(rng: np.random.Generator, authority: str, kind: str, area: str) -> str:
    """A valid unified social credit code: authority, type, division, organisation code, check."""
    body = "".join(str(d) for d in rng.integers(0, 10, 8))
    first17 = authority + kind + area + organisation_code(body)
    return first17 + codes.check_char(first17)


# ---------------------------------------------------------------- agencies and catalog


def make_agencies() -> list[dict]:
    rows = [
        {"agency_id": a, "name": zh, "name_en": en, "kind": "city_bureau"}
        for a, zh, en, _ in vocab.CITY_BUREAUS
    ]
    rows += [
        {"agency_id": a, "name": zh, "name_en": en, "kind": "district"} for a, zh, en, _ in vocab.DISTRICTS
    ]
    return rows


def _dataset_fields(rng: np.random.Generator, sensitive: bool, poor: bool) -> list[dict]:
    common = [
        vocab.COMMON_FIELDS[i]
        for i in sorted(rng.choice(len(vocab.COMMON_FIELDS), int(rng.integers(4, 8)), replace=False))
    ]
    chosen = [vocab.COMMON_FIELDS[0]] + [f for f in common if f[0] != "record_id"]
    if rng.random() < 0.35 or poor:
        picks = rng.choice(len(vocab.ABBREVIATED_FIELDS), int(rng.integers(1, 4)), replace=False)
        chosen += [vocab.ABBREVIATED_FIELDS[i] for i in sorted(picks)]
    if sensitive:
        picks = rng.choice(len(vocab.SENSITIVE_FIELDS), int(rng.integers(2, 5)), replace=False)
        chosen += [vocab.SENSITIVE_FIELDS[i] for i in sorted(picks)]
    fields = []
    for name, kind, description in chosen:
        if poor and (name in {f[0] for f in vocab.ABBREVIATED_FIELDS} or rng.random() < 0.5):
            description = ""
        fields.append({"name": name, "type": kind, "description": description})
    return fields


def _open_class(rng: np.random.Generator, sensitive: bool) -> str:
    if sensitive:
        return "conditional" if rng.random() < 0.8 else "closed"
    return "unconditional" if rng.random() < 0.88 else "conditional"


def _last_updated(
    rng: np.random.Generator, frequency: str, published: date, until: date, overdue: bool
) -> datetime:
    interval = vocab.FREQUENCY_DAYS[frequency]
    if overdue:
        lag = int(interval * rng.uniform(2.5, 6.0)) + 3
    else:
        lag = int(rng.integers(0, interval)) if interval > 1 else 0
    day = max(published, until - timedelta(days=lag))
    return office_time(rng, day) if interval > 1 else at(day, float(rng.uniform(0, 8)))


def _description(
    rng: np.random.Generator, poor: bool, agency: str, name: str, fields: list[dict], frequency: str
) -> str:
    """A plain description; poor metadata has none or a useless one."""
    if poor:
        return "" if rng.random() < 0.5 else "数据"
    described = "、".join(f["description"] for f in fields[:4])
    return f"{agency}发布的{name}，包含{described}等信息，{FREQUENCY_LABELS[frequency]}更新。"


def make_datasets(rng: np.random.Generator, count: int, until: date) -> list[dict]:
    bureaus, districts = vocab.CITY_BUREAUS, vocab.DISTRICTS
    agency_pick = rng.random(count) < 0.72
    names_seen: dict[tuple[str, str], int] = {}
    rows = []
    for i in range(count):
        if agency_pick[i]:
            agency_id, agency_name, _, domains = bureaus[int(rng.integers(len(bureaus)))]
            prefix = ""
        else:
            agency_id, agency_name, _, _ = districts[int(rng.integers(len(districts)))]
            domains = tuple(vocab.THEMES)
            prefix = agency_name
        domain = domains[int(rng.integers(len(domains)))]
        theme, row_scale, sensitive = vocab.THEMES[domain][int(rng.integers(len(vocab.THEMES[domain])))]
        name = prefix + theme
        seen = names_seen.get((agency_id, name), 0)
        names_seen[(agency_id, name)] = seen + 1
        if seen:
            name += f"（{NAME_VARIANTS[seen % 6]}{'' if seen < 6 else seen}）"
        poor = rng.random() < 0.15
        open_class = _open_class(rng, sensitive)
        fmt = vocab.FORMATS[int(rng.choice(len(vocab.FORMATS), p=vocab.FORMAT_WEIGHTS))]
        if open_class == "conditional" and rng.random() < 0.6:
            fmt = "api"
        frequency = vocab.FREQUENCIES[int(rng.choice(len(vocab.FREQUENCIES), p=vocab.FREQUENCY_WEIGHTS))]
        published = random_day(rng, date(2019, 3, 1), min(until - timedelta(days=200), date(2025, 12, 31)))
        fields = _dataset_fields(rng, sensitive, poor)
        description = _description(rng, poor, agency_name, name, fields, frequency)
        scale = 0.3 if prefix else 1.0
        rows.append(
            {
                "dataset_id": f"{agency_id.removeprefix('sh-')}-{i + 1:05d}",
                "version": 1 + int(rng.integers(0, 4)),
                "agency_id": agency_id,
                "name": name,
                "description": description,
                "domain": domain,
                "open_class": open_class,
                "format": fmt,
                "fields": fields,
                "conditions": vocab.CONDITIONS[int(rng.integers(len(vocab.CONDITIONS)))]
                if open_class == "conditional"
                else "",
                "update_frequency": frequency,
                "published_at": published,
                "last_updated": _last_updated(rng, frequency, published, until, rng.random() < 0.2),
                "status": "open",
                "has_sample": int(rng.random() < (0.45 if open_class == "conditional" else 0.15)),
                "row_count": max(50, int(row_scale * scale * rng.lognormal(0, 0.5))),
            }
        )
    return rows


# ---------------------------------------------------------------- consumers, keys, addresses


def _person_name(rng: np.random.Generator) -> str:
    given = "".join(vocab.GIVEN[int(i)] for i in rng.integers(0, len(vocab.GIVEN), int(rng.integers(1, 3))))
    return vocab.SURNAMES[int(rng.integers(len(vocab.SURNAMES)))] + given


def _company_name(rng: np.random.Generator, n: int) -> str:
    district = (
        vocab.DISTRICTS[int(rng.integers(len(vocab.DISTRICTS)))][1].removesuffix("区").removesuffix("新")
    )
    core = vocab.COMPANY_CORE[int(rng.integers(len(vocab.COMPANY_CORE)))]
    core2 = vocab.COMPANY_CORE[n % len(vocab.COMPANY_CORE)]
    trade = vocab.COMPANY_TRADE[int(rng.integers(len(vocab.COMPANY_TRADE)))]
    return f"上海{district}{core}{core2 if core2 != core else ''}{trade}有限公司"


def _organisation_name(rng: np.random.Generator, n: int) -> str:
    base = vocab.ORG_NAMES[int(rng.integers(len(vocab.ORG_NAMES)))]
    prefix = ("上海市", "上海", "上海浦东", "长三角")[n % 4]
    return f"{prefix}{base}"


def _ip(net: tuple[int, int], slot: int) -> str:
    return f"{net[0]}.{net[1]}.{slot // 254}.{1 + slot % 254}"


def allocate_consumer_ips(platform: Platform, rng: np.random.Generator, consumer_id: str, kind: str) -> None:
    """Give a consumer its lawful addresses and the allowlist its agreements will carry.

    Addresses come from a counter per network so no two consumers share one; companies often
    declare a /28 of their office, persons a single broadband address.
    """
    n = platform._ip_counter.get("consumer", 0)
    platform._ip_counter["consumer"] = n + 1
    net = vocab.CONSUMER_NETS[n % len(vocab.CONSUMER_NETS)]
    block = (n // len(vocab.CONSUMER_NETS)) * 7919 % 4096  # 4096 /28 blocks per /16
    base = f"{net[0]}.{net[1]}.{block // 16}"
    first = (block % 16) * 16
    if kind != "person" and rng.random() < 0.5:
        ips = [f"{base}.{first + 1 + k}" for k in range(int(rng.integers(1, 4)))]
        allowlist = [f"{base}.{first}/28"]
    else:
        ips = [f"{base}.{first + 1 + k}" for k in range(1 if kind == "person" else int(rng.integers(1, 3)))]
        allowlist = list(ips)
    platform.consumer_ips[consumer_id] = ips
    platform.consumer_allowlist[consumer_id] = allowlist


def add_consumer(
    platform: Platform, rng: np.random.Generator, kind: str, registered: date, name: str | None = None
) -> dict:
    n = len(platform.consumers)
    consumer_id = f"u{n + 1:06d}"
    if kind == "person":
        credit = ""
        name = name or _person_name(rng)
    else:
        area = vocab.DISTRICTS[int(rng.integers(len(vocab.DISTRICTS)))][3]
        authority, kind_code = (
            ("9", "1") if kind == "company" else (("5", "1"), ("5", "2"), ("1", "2"))[n % 3]
        )
        credit = make_credit_code(rng, authority, kind_code, area)
        name = name or (_company_name(rng, n) if kind == "company" else _organisation_name(rng, n))
    row = {
        "consumer_id": consumer_id,
        "name": name,
        "kind": kind,
        "credit_code": credit,
        "registered_at": office_time(rng, registered),
    }
    platform.consumers.append(row)
    key_id = "ak_" + "".join(f"{int(x):02x}" for x in rng.integers(0, 256, 10))
    platform.api_keys.append(
        {
            "key_id": key_id,
            "consumer_id": consumer_id,
            "created_at": row["registered_at"] + timedelta(minutes=int(rng.integers(5, 600))),
            "status": "active",
        }
    )
    platform.consumer_key[consumer_id] = key_id
    if kind != "person" and rng.random() < 0.2:
        spare = "ak_" + "".join(f"{int(x):02x}" for x in rng.integers(0, 256, 10))
        platform.api_keys.append(
            {
                "key_id": spare,
                "consumer_id": consumer_id,
                "created_at": row["registered_at"] + timedelta(days=int(rng.integers(30, 300))),
                "status": "active" if rng.random() < 0.7 else "closed",
            }
        )
    allocate_consumer_ips(platform, rng, consumer_id, kind)
    return row


def make_consumers(platform: Platform, rng: np.random.Generator, count: int) -> None:
    kinds = rng.choice(["person", "company", "organisation"], count, p=[0.38, 0.47, 0.15])
    for kind in kinds:
        add_consumer(
            platform, rng, str(kind), random_day(rng, date(2022, 1, 1), platform.until - timedelta(days=60))
        )


# ---------------------------------------------------------------- applications and agreements


def _decision_times(rng: np.random.Generator, submitted: datetime, late: bool) -> tuple[datetime, datetime]:
    """Acceptance the same or the next working day, decision 1-5 working days later (6-14 when late)."""
    accepted_day = submitted.date()
    if rng.random() < 0.7:
        accepted_day = add_working_days(accepted_day, int(rng.integers(0, 2)))[0]
    accepted = office_time(rng, accepted_day)
    if accepted <= submitted:
        accepted = submitted + timedelta(minutes=int(rng.integers(20, 240)))
    days = int(rng.integers(6, 15)) if late else int(rng.integers(1, 6))
    return accepted, office_time(rng, add_working_days(accepted.date(), days)[0])


def add_application(
    platform: Platform,
    rng: np.random.Generator,
    consumer_id: str,
    dataset: dict,
    submitted: date,
    decision: str,
    scenario: str,
    late: bool = False,
) -> dict:
    row = {
        "application_id": f"app-{len(platform.applications) + 1:06d}",
        "consumer_id": consumer_id,
        "dataset_id": dataset["dataset_id"],
        "agency_id": dataset["agency_id"],
        "scenario": scenario,
        "submitted_at": office_time(rng, submitted),
        "accepted_at": None,
        "decided_at": None,
        "decision": decision,
        "reason": "",
    }
    accepted, decided = _decision_times(rng, row["submitted_at"], late)
    if decision == "not_accepted":
        row["decided_at"] = accepted
        row["reason"] = "申请材料不齐全，未能受理。"
    elif decision == "pending":
        row["accepted_at"] = accepted if accepted.date() <= platform.until else None
    else:
        row["accepted_at"], row["decided_at"] = accepted, decided
        if decision == "rejected" and rng.random() < 0.7:
            row["reason"] = (
                "应用场景与数据用途不符。",
                "申请主体不具备数据安全保护能力。",
                "申请字段超出场景必要范围。",
            )[int(rng.integers(3))]
    platform.applications.append(row)
    return row


def _nice_quota(value: float) -> int:
    step = 100 if value < 2000 else 1000
    return int(np.ceil(value / step) * step)


def add_agreement(
    platform: Platform,
    rng: np.random.Generator,
    consumer_id: str,
    dataset: dict,
    submitted: date,
    rate: float,
    late: bool = False,
    scenarios: list[str] | None = None,
    allowlist: list[str] | None = None,
    years: int | None = None,
) -> dict:
    """An approved application and the agreement signed after it, valid one or two years."""
    scenarios = scenarios or sorted(
        {vocab.SCENARIOS[int(i)] for i in rng.integers(0, len(vocab.SCENARIOS), 2)}
    )
    application = add_application(
        platform, rng, consumer_id, dataset, submitted, "approved", scenarios[0], late
    )
    signed = application["decided_at"] + timedelta(
        days=int(rng.integers(1, 6)), hours=int(rng.integers(0, 3))
    )
    valid_from = signed.date() + timedelta(days=int(rng.integers(0, 4)))
    names = [f["name"] for f in dataset["fields"]]
    keep = int(rng.integers(max(1, len(names) // 2), len(names)))  # never every field
    allowed = (
        [names[0]] + sorted(rng.choice(names[1:], keep - 1, replace=False).tolist())
        if keep > 1
        else names[:1]
    )
    quota = _nice_quota(max(200.0, rate * 3.0 + 50))
    row = {
        "agreement_id": f"agr-{len(platform.agreements) + 1:06d}",
        "application_id": application["application_id"],
        "consumer_id": consumer_id,
        "dataset_id": dataset["dataset_id"],
        "scenarios": scenarios,
        "allowed_fields": allowed,
        "ip_allowlist": allowlist or platform.consumer_allowlist[consumer_id],
        "daily_call_quota": quota,
        "daily_row_quota": quota * 100,
        "valid_from": valid_from,
        "valid_to": valid_from + timedelta(days=365 * (years or (1, 2)[int(rng.random() < 0.4)]) - 1),
        "signed_at": signed,
        "report_every_days": (90, 30, 180)[int(rng.choice(3, p=[0.7, 0.1, 0.2]))],
    }
    platform.agreements.append(row)
    platform.agreement_rate[row["agreement_id"]] = rate
    return row


def make_agreements(platform: Platform, rng: np.random.Generator, count: int, median_rate: float) -> None:
    conditional = [d for d in platform.datasets if d["open_class"] == "conditional" and d["status"] == "open"]
    holders = [c for c in platform.consumers if c["kind"] != "person" or rng.random() < 0.15]
    pairs: set[tuple[str, str]] = set()
    latest = platform.until - timedelta(days=25)
    while len(pairs) < count:
        consumer = holders[int(rng.integers(len(holders)))]
        dataset = conditional[int(rng.integers(len(conditional)))]
        if (consumer["consumer_id"], dataset["dataset_id"]) in pairs:
            continue
        pairs.add((consumer["consumer_id"], dataset["dataset_id"]))
        start = max(REFERENCE_START - timedelta(days=200), consumer["registered_at"].date())
        # Heavy but lawful users: 5-20x the typical volume, valid through the whole log window.
        heavy = len(pairs) <= max(5, count // 30)
        if heavy:
            submitted = max(
                start,
                random_day(
                    rng, platform.log_start - timedelta(days=300), platform.log_start - timedelta(days=20)
                ),
            )
            rate = median_rate * float(rng.uniform(5, 20))
        else:
            submitted = random_day(rng, start, latest)
            rate = median_rate * float(rng.lognormal(0, 0.6))
        agreement = add_agreement(
            platform,
            rng,
            consumer["consumer_id"],
            dataset,
            submitted,
            rate,
            late=rng.random() < 0.15,
            years=2 if heavy else None,
        )
        if heavy:
            platform.reserved.add(agreement["agreement_id"])  # kept lawful: no episode may use it
    # Applications that did not end in an agreement: rejected, not accepted, pending.
    extra = max(12, count // 3)
    for i in range(extra):
        consumer = holders[int(rng.integers(len(holders)))]
        dataset = conditional[int(rng.integers(len(conditional)))]
        scenario = vocab.SCENARIOS[int(rng.integers(len(vocab.SCENARIOS)))]
        if (consumer["consumer_id"], dataset["dataset_id"]) in pairs:
            continue
        kind = ("rejected", "rejected", "rejected", "not_accepted", "pending")[i % 5]
        if kind == "pending":
            submitted = random_day(rng, platform.until - timedelta(days=20), platform.until)
        else:
            submitted = random_day(rng, REFERENCE_START, platform.until - timedelta(days=15))
        add_application(
            platform,
            rng,
            consumer["consumer_id"],
            dataset,
            submitted,
            kind,
            scenario,
            late=rng.random() < 0.2,
        )


# ---------------------------------------------------------------- usage reports and complaints


def make_usage_reports(platform: Platform, rng: np.random.Generator) -> None:
    """第二十九条 feedback: one report per period; filed on time unless an episode made it overdue."""
    for agreement in platform.agreements:
        start = agreement["valid_from"]
        every = agreement["report_every_days"]
        rate = platform.agreement_rate.get(agreement["agreement_id"], 1.0)
        while True:
            end = min(start + timedelta(days=every - 1), agreement["valid_to"])
            if end >= platform.until:
                break
            due = end + timedelta(days=15)
            report_id = f"rep-{len(platform.usage_reports) + 1:06d}"
            filed = office_time(rng, end + timedelta(days=int(rng.integers(1, 15))))
            if due > platform.until and rng.random() < 0.5:
                filed = None
            if filed is not None and filed.date() > platform.until:
                filed = None
            platform.usage_reports.append(
                {
                    "report_id": report_id,
                    "agreement_id": agreement["agreement_id"],
                    "consumer_id": agreement["consumer_id"],
                    "dataset_id": agreement["dataset_id"],
                    "period_start": start,
                    "period_end": end,
                    "due_date": due,
                    "filed_at": filed,
                    "calls_reported": int(rate * (end - start).days * 0.75),
                    "fields_reported": agreement["allowed_fields"][:3],
                }
            )
            start = end + timedelta(days=1)
            if start > agreement["valid_to"]:
                break


def add_complaint(
    platform: Platform,
    rng: np.random.Generator,
    dataset: dict,
    received: datetime,
    outcome: str,
    suspend: bool = True,
    duration_days: float | None = None,
) -> dict:
    subject = ("trade_secret", "privacy", "other")[int(rng.integers(0, 3 if not suspend else 2))]
    suspended = received + timedelta(hours=float(rng.uniform(1, 20))) if suspend else None
    verified = (suspended or received) + timedelta(days=float(rng.uniform(1, 8)))
    resolved = verified + timedelta(days=float(rng.uniform(1, 10)))
    if duration_days is not None and suspended is not None:
        resolved = suspended + timedelta(days=duration_days)
        verified = suspended + timedelta(days=duration_days * 0.6)
    row = {
        "complaint_id": f"cmp-{len(platform.complaints) + 1:05d}",
        "dataset_id": dataset["dataset_id"],
        "agency_id": dataset["agency_id"],
        "complainant_kind": ("person", "company", "organisation")[int(rng.integers(3))],
        "subject": subject,
        "received_at": received.replace(microsecond=0),
        "suspended_at": suspended.replace(microsecond=0) if suspended else None,
        "verified_at": verified.replace(microsecond=0) if outcome != "pending" else None,
        "resolved_at": resolved.replace(microsecond=0) if outcome != "pending" else None,
        "outcome": outcome,
        "description": {
            "trade_secret": "数据包含本企业未公开的经营信息，涉嫌侵犯商业秘密。",
            "privacy": "数据可识别到具体个人，涉嫌侵犯个人隐私。",
            "other": "数据存在错误，请求更正。",
        }[subject],
    }
    platform.complaints.append(row)
    if outcome == "withdrawn":
        dataset["status"] = "withdrawn"
    elif outcome == "pending" and suspend:
        dataset["status"] = "suspended"
    return row


def make_complaints(platform: Platform, rng: np.random.Generator, count: int, busy: set[str]) -> None:
    """Complaints before the log window (some datasets withdrawn or still suspended, hence silent in the
    log) and complaints inside it that end restored or reopened, their suspension honoured by lawful
    traffic. `busy` datasets are left for the suspension episodes."""
    candidates = [d for d in platform.datasets if d["open_class"] != "closed" and d["dataset_id"] not in busy]
    window_start = at(platform.log_start, 0)
    for i in range(count):
        dataset = candidates[int(rng.integers(len(candidates)))]
        if dataset["status"] != "open" or dataset["dataset_id"] in busy:
            continue
        if i % 3 == 2:  # inside the log window, resolved before `until`
            received = office_time(
                rng,
                random_day(rng, platform.log_start + timedelta(days=5), platform.until - timedelta(days=30)),
            )
            add_complaint(
                platform, rng, dataset, received, ("restored", "reopened")[i % 2], suspend=rng.random() < 0.85
            )
            continue
        received = office_time(
            rng,
            random_day(
                rng, max(REFERENCE_START, dataset["published_at"]), platform.log_start - timedelta(days=40)
            ),
        )
        outcome = ("withdrawn", "restored", "reopened", "restored", "pending")[i % 5]
        row = add_complaint(
            platform,
            rng,
            dataset,
            received,
            outcome,
            suspend=outcome in ("withdrawn", "pending") or rng.random() < 0.8,
        )
        if row["resolved_at"] and row["resolved_at"] >= window_start:
            row["resolved_at"] = window_start - timedelta(days=2)
            row["verified_at"] = min(row["verified_at"], row["resolved_at"])
        busy.add(dataset["dataset_id"])


def json_ready(row: dict) -> dict:
    """A reference row as JSON values: dates ISO, datetimes RFC 3339 with the +08:00 offset."""
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            out[key] = value.astimezone(SHANGHAI).isoformat(timespec="seconds")
        elif isinstance(value, date):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out


def fields_json(fields: list[dict]) -> str:
    return json.dumps(fields, ensure_ascii=False)
