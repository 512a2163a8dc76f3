"""The product's fixed vocabulary: roles, alert categories and severities, Art. 31 violation
categories and measures. Code keys on these strings; people see them through the message catalog.
"""

from __future__ import annotations

ROLES = ("official", "security", "agency", "admin")

CONSUMER_KINDS = ("person", "company", "organisation", "anonymous")
CHANNELS = ("api", "download")

SEVERITIES = ("low", "medium", "high", "critical")          # weakest first
MAJOR_SEVERITIES = ("critical", "high")
# The one set of words Chinese documents print for a severity (the catalog's pages.severity.* in Chinese):
# a report that says 严重 means critical, never "critical or high".
SEVERITY_LABELS = {"low": "低", "medium": "中", "high": "高", "critical": "严重"}

MALICIOUS_CATEGORIES = (
    "scraping", "burst", "key_sharing", "probing", "off_hours_bulk", "sybil_harvest", "ml_outlier",
    "distributed_scraping", "scanning", "injection", "tampering",
)
AGREEMENT_CATEGORIES = (
    "no_agreement", "outside_validity", "fields_outside_agreement", "scenario_mismatch",
    "quota_exceeded", "ip_outside_allowlist", "suspended_dataset", "report_overdue",
)
ALERT_CATEGORIES = MALICIOUS_CATEGORIES + AGREEMENT_CATEGORIES

# 第三十一条 (一)…(五)
VIOLATION_CATEGORIES = {
    1: "违反开放平台管理制度",
    2: "采用非法手段获取公共数据",
    3: "侵犯商业秘密、个人隐私等他人合法权益",
    4: "超出数据利用协议限制的应用场景使用公共数据",
    5: "违反法律、法规、规章和数据利用协议的其他行为",
}
VIOLATION_NUMERALS = {1: "(一)", 2: "(二)", 3: "(三)", 4: "(四)", 5: "(五)"}

MEASURES = ("none", "restrict", "close")
MEASURE_LABELS = {"none": "记录在案", "restrict": "限制数据获取权限", "close": "关闭数据获取权限"}
# What a measure sets the consumer's API keys to at the gateway, and the keys' states by strength.
KEY_STATUS = {"restrict": "restricted", "close": "closed"}
KEY_STATUS_STRENGTH = ("active", "restricted", "closed")
