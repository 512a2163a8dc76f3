"""Injection signatures on values (libinjection, the vendored OWASP Core Rule Set, template
expressions): every class recognised however encoded, search texts with quotes, brackets and SQL words
clean, and the keys and nested values of a call's parameters inspected.

The detectors that use them have their own files (test_detectors_injection.py and others)."""

import pytest

from detectors import signatures


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1' OR '1'='1' --", "sqli"),
        ("-1 UNION ALL SELECT NULL,username,password FROM users#", "sqli"),
        ('"><img src=x onerror=alert(document.cookie)>', "xss"),
        ("%3Cscript%3Ealert(1)%3C%2Fscript%3E", "xss"),
        ("....//....//....//etc/passwd", "path_traversal"),
        ("%250d%250aSet-Cookie:admin=true", "crlf"),
        ("127.0.0.1 && cat /etc/shadow", "command_injection"),
        ("{{''.__class__.__mro__[1].__subclasses__()}}", "ssti"),
        ("${T(java.lang.Runtime).getRuntime().exec('id')}", "ssti"),
    ],
)
def test_attacks_of_every_class_are_recognised_decoded(value, expected):
    assert expected in signatures.attack_classes(value)


@pytest.mark.parametrize(
    "value",
    [
        "O'Brien",
        "Xi'an 公交线路",
        "children's hospital",
        "price < 500",
        "温度>30",
        "Tom & Jerry",
        "a<b",
        "Select Committee report",
        "union membership",
        "2024/05/01",
        "浦东新区/张江",
        "C++ training",
        "echo valley park",
        "“一网通办”",
        "人口<100万的镇",
        "1/2 day",
        "e-mail: info@example.com",
    ],
)
def test_search_texts_with_quotes_brackets_and_sql_words_are_clean(value):
    assert signatures.attack_classes(value) == ()


def test_keys_and_nested_values_of_the_parameters_are_inspected():
    assert signatures.param_values('{"q": "x", "filter": {"name": ["a", 1]}}') == [
        "q",
        "x",
        "filter",
        "name",
        "a",
    ]
    assert signatures.inspect_call('{"<script>alert(1)</script>": 1}') == ("xss",)
    assert signatures.inspect_call("not json ' or 1=1 --") == ("sqli",)
    assert signatures.inspect_call('{"page": 2}', "/static/../../../etc/passwd")[0] == "path_traversal"
