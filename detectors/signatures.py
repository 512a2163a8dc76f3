"""Injection signatures from maintained sources, for the values of query parameters.

Two maintained sources, combined because each covers what the other does not
(bench/signatures.py measures them on bench/labelled/params.csv):

- libinjection (`libinjection-python`): SQL injection by tokenising the value as
  SQL and matching the token fingerprints, and cross-site scripting by parsing it
  as HTML; neither is a regular expression, and both hold up against the quoting,
  comment and case variations a pattern misses.
- The OWASP Core Rule Set, paranoia level 1, for the other classes (protocol
  attacks such as CRLF header injection, local and remote file inclusion, remote
  command execution, PHP, Node.js and Java injection): its patterns and data
  files are vendored unchanged in detectors/crs/ (Apache-2.0, see NOTICE there)
  and applied with the transformations each rule names, as ModSecurity would.

Server-side template injection has no rule in the vendored CRS version;
`TEMPLATE_EXPRESSION` recognises the expression delimiters of the common template
engines when they hold an expression (arithmetic, attribute access, a call),
after the OWASP Web Security Testing Guide (WSTG-INPV-18).

Values are inspected as received and decoded (URL decoding twice, for double
encoding; HTML entities), so an encoded attack is seen for what it is.
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import libinjection

CRS_DIR = Path(__file__).resolve().parent / "crs"
ATTACK_CLASSES = ("sqli", "xss", "path_traversal", "rfi", "crlf", "command_injection", "php_injection",
                  "nodejs_injection", "java_injection", "ssti")

TEMPLATE_EXPRESSION = re.compile(
    r"\{\{[^}]*(\d\s*[*+/-]\s*['\d]|__|\.\w|\(|\bconfig\b|\bself\b|\brequest\b)[^}]*\}\}"   # Jinja2, Twig
    r"|\$\{[^}]*(\d\s*[*+/-]\s*\d|\(|\bT\(|\.\w+\()[^}]*\}"                               # EL, Freemarker
    r"|<%=?.*%>"                                                                           # ERB, JSP
    r"|#\{[^}]*\d\s*[*+/-]\s*\d[^}]*\}|[*@]\{[^}]*\d\s*[*+/-]\s*\d[^}]*\}"                 # Ruby, Thymeleaf
    r"|\{%-?\s*(import|set|for|if|include|extends|raw)\b"                               # Jinja2 statements
    r"|#set\s*\(\s*\$|<#assign\b|\{php\}|@\(\s*\d\s*[*+/-]",                           # Velocity, Freemarker
    re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Rule:
    rule_id: str
    attack_class: str
    pattern: re.Pattern
    transforms: tuple[str, ...]


@lru_cache(maxsize=1)
def crs_rules() -> tuple[Rule, ...]:
    """The vendored CRS rules, compiled: an @rx as is, a phrase list (@pm, @pmFromFile) as one
    case-insensitive alternation, as ModSecurity matches phrases."""
    rules = []
    lines = (CRS_DIR / "rules.tsv").read_text(encoding="utf-8").splitlines()[1:]
    for line in lines:
        rule_id, attack_class, operator, argument, transforms = line.split("\t")
        if operator == "@rx":
            pattern = re.compile(argument)
        else:
            phrases = argument.split() if operator == "@pm" else _data_file(argument)
            pattern = re.compile("|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)),
                                 re.IGNORECASE)
        rules.append(Rule(rule_id, attack_class, pattern, tuple(t for t in transforms.split(",") if t)))
    return tuple(rules)


def _data_file(name: str) -> list[str]:
    text = (CRS_DIR / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@lru_cache(maxsize=1)
def restricted_files() -> tuple[str, ...]:
    """CRS's list of files and folders no client has business asking for (rule 930130)."""
    return tuple(_data_file("restricted-files.data"))


def decoded(value: str) -> str:
    """The value as a server would see it: URL-decoded (twice: double encoding), HTML entities resolved."""
    for _ in range(2):
        unquoted = urllib.parse.unquote(value)
        if unquoted == value:
            break
        value = unquoted
    return html.unescape(value)


def _transformed(value: str, transforms: tuple[str, ...]) -> str:
    """The CRS transformations that change what a pattern sees (decoding is done once, before)."""
    for name in transforms:
        if name == "lowercase":
            value = value.lower()
        elif name == "removeNulls":
            value = value.replace("\x00", "")
        elif name == "compressWhitespace":
            value = re.sub(r"\s+", " ", value)
        elif name == "replaceComments":
            value = re.sub(r"/\*.*?(\*/|$)", " ", value, flags=re.DOTALL)
        elif name == "cmdLine":
            value = re.sub(r"[\\\"'^]", "", value.lower())
            value = re.sub(r"\s*([/(])", r"\1", re.sub(r"[\s,;]+", " ", value))
        elif name in ("normalizePath", "normalisePath", "normalizePathWin"):
            value = value.replace("\\", "/") if name == "normalizePathWin" else value
            value = re.sub(r"/+", "/", value)
    return value


@lru_cache(maxsize=65536)
def attack_classes(value: str) -> tuple[str, ...]:
    """The attack classes a single value matches, in ATTACK_CLASSES order; () for a clean value."""
    if not value or value.isalnum():
        return ()
    text = decoded(value)
    found = set()
    if libinjection.is_sql_injection(text)["is_sqli"]:
        found.add("sqli")
    if libinjection.is_xss(text)["is_xss"]:
        found.add("xss")
    for rule in crs_rules():
        if rule.attack_class not in found and rule.pattern.search(_transformed(text, rule.transforms)):
            found.add(rule.attack_class)
    if TEMPLATE_EXPRESSION.search(text):
        found.add("ssti")
    return tuple(c for c in ATTACK_CLASSES if c in found)


def param_values(params: str) -> list[str]:
    """Every key and value of a call's parameters (a JSON object as received), flattened; a text that is
    not JSON is one value."""
    try:
        parsed = json.loads(params) if params else {}
    except json.JSONDecodeError:
        return [params]
    return list(_flatten(parsed))


def _flatten(node: object) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _flatten(value)
    elif isinstance(node, list):
        for item in node:
            yield from _flatten(item)
    elif node is not None and not isinstance(node, bool | int | float):
        yield str(node)


def inspect_call(params: str, endpoint: str = "") -> tuple[str, ...]:
    """The attack classes of one call: its parameters' keys and values, and its path when given."""
    found: set[str] = set()
    for value in [*param_values(params), *([endpoint] if endpoint else [])]:
        found.update(attack_classes(value))
    return tuple(c for c in ATTACK_CLASSES if c in found)


# What a request header (a user agent) can deliver to the code that logs or renders it: Log4Shell's JNDI
# lookups and shell expressions, Shellshock, template expressions. Callers pre-select headers holding
# `${`, `#{`, `{{`, `<%` or `() {`: a user agent is otherwise full of the semicolons and parentheses
# the SQL patterns would misread.
HEADER_CLASSES = ("command_injection", "java_injection", "ssti")
HEADER_MARKERS = ("${", "#{", "{{", "<%", "() {", "%24%7b", "%24%7B")


def inspect_header(value: str) -> tuple[str, ...]:
    """The attack classes of a header's value, among those a header can deliver (HEADER_CLASSES)."""
    return tuple(c for c in attack_classes(value) if c in HEADER_CLASSES)
