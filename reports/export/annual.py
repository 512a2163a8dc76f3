"""The annual assessment report (第三十七条) as PDF, DOCX and XLSX, in the form of a 公文.

Title, an opening that cites the rules (a draft for comment, said so), 一、综述 with the key
figures, the method and the ranking, 二、主要问题 and 三、工作建议 written from the figures,
四、各单位评估情况 with every score, its basis and the causes of lost points, the issuing body
and date (落款, from settings) with the content hash of a published or final year, then the
annexes: the datasets of lowest quality, and the year's violation records (context, not scored).
PDF and DOCX render the same `Document`; the XLSX holds every table with typed cells.
No code names or English enum words are printed; natural persons are masked.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from clickhouse_connect.driver.client import Client

from odwatch import clock
from odwatch.i18n import chinese_date
from odwatch.settings import Settings
from odwatch.vocabulary import SEVERITY_LABELS
from reports.complaints import SUSPEND_WITHIN_HOURS, VERIFY_WITHIN_WORKING_DAYS
from reports.evaluation import (
    LABELS,
    QUALITY_LABELS,
    RULES,
    AgencyEvaluation,
    Evaluation,
    inputs_text,
)
from reports.evaluation_store import evaluate_year
from reports.export import document as doc
from reports.export.charts import report_charts
from reports.export.docx_writer import write_docx
from reports.export.files import check_format, write_atomically
from reports.export.pdf_writer import write_pdf
from reports.export.workbook import Column, Sheet, write_workbook

ANNUAL_FORMATS = ("pdf", "docx", "xlsx")
PRINTED_VIOLATIONS = 200
RULES_CITED = "《上海市公共数据开放实施细则（征求意见稿）》"
DRAFT_NOTE = (
    "该细则为2022年9月13日公开征求意见的文本，尚未正式施行；本报告引用其条款作为评估依据，"
    "具体以正式发布的文本为准。"
)
WEAK = 0.8  # a dimension whose city mean is below this is a main problem


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _change_text(agency: AgencyEvaluation) -> str:
    comparison = agency.comparison
    if comparison is None or not comparison.comparable:
        return f"不可比（{comparison.reason if comparison else '无上年结果'}）"
    basis = "、".join(LABELS[k] for k in comparison.basis)
    return (
        f"按两年均评估的{len(comparison.basis)}个维度（{basis}）同口径计算，本年 {comparison.total:.2f} "
        "分，"
        f"上年 {comparison.previous_total:.2f} 分，变化 {comparison.change:+.2f} 分"
    )


def _change_cell(agency: AgencyEvaluation) -> str:
    return "不可比" if agency.change is None else f"{agency.change:+.2f}"


def _dimension_cell(agency: AgencyEvaluation, key: str) -> str:
    d = agency.dimensions[key]
    return d.status_text or _points(d.points)


def _state_text(evaluation: Evaluation) -> str:
    if evaluation.state == "final":
        return "定稿"
    if evaluation.state == "published":
        return f"复核稿，复核期至{chinese_date(evaluation.review_until)}"
    return "草稿，数据随平台更新而变化"


def _state_line(evaluation: Evaluation) -> str:
    return f"（{_state_text(evaluation)}）"


# ---------------------------------------------------------------- the text


def _opening(evaluation: Evaluation) -> list:
    return [
        doc.Paragraph(f"{evaluation.year}年度公共数据开放工作评估报告", "title"),
        doc.Paragraph(_state_line(evaluation), "subtitle"),
        doc.Paragraph(
            f"根据{RULES_CITED}第三十七条关于建立公共数据开放工作评估评价机制的规定，"
            f"现将{evaluation.year}年度各数据开放主体的公共数据开放工作评估情况报告如下。"
            f"数据截至{chinese_date(evaluation.as_of)}。{DRAFT_NOTE}"
        ),
    ]


def _log_days_note(evaluation: Evaluation) -> str:
    """Where the gateway log does not cover the whole year, the calls counted are its days' only."""
    days = evaluation.key_figures.get("log_days")
    if not days:
        return ""
    first, last = (date.fromisoformat(day) for day in days)
    year_end = min(date(evaluation.year, 12, 31), evaluation.as_of)
    if first <= date(evaluation.year, 1, 1) and last >= year_end:
        return ""
    return f"（网关日志覆盖{chinese_date(first)}至{chinese_date(last)}，其余日期无记录）"


def _overview(evaluation: Evaluation) -> list:
    f = evaluation.key_figures
    grades = "、".join(f"{g}{n}个" for g, n in f["grades"].items())
    sla = (
        "无应办结申请"
        if f["share_within_5_working_days"] is None
        else f"5个工作日内办结率 {100 * f['share_within_5_working_days']:.1f}%"
    )
    text = (
        f"本年度共有 {f['agencies']} 个数据开放主体参加评估，开放数据集 {f['open_datasets']:,} 个，其中本"
        "年度新增 "
        f"{f['new_datasets']:,} 个；全年有效调用 {f['calls']:,} 次{_log_days_note(evaluation)}，其中下载 "
        f"{f['downloads']:,} 次；应办"
        "结开放申请 "
        f"{f['applications_due']:,} 件，{sla}；收到投诉 {f['complaints']} 件。平均总分 "
        f"{_points(f['mean_total'])} 分，等级分布为{grades}。"
    )
    share = f["mean_measured_share"]
    coverage = (
        ""
        if share is None
        else f"各单位平均有 {100 * share:.0f}% 的分值得到评估，未评估或无此事项的维度不计入该单位的分母。"
    )
    quality = (
        f"本年度对 {f['checked_datasets']:,} 个开放数据集做了质量检测，其中 {f['profiled_datasets']:,} "
        "个提供了数据文件、测得内容质量；其余数据集的完整性、唯一性、有效性、一致性为未评估。"
    )
    context = ""
    if f["violations"]:
        context = (
            f"本年度记录利用主体违法违规行为 {f['violations']} 起（第三十一条），系利用主体所为，"
            "作为情况说明列于附件2，不计入数据开放主体得分。"
        )
    blocks = [doc.Heading("一、综述"), doc.Paragraph(text + coverage), doc.Paragraph(quality + context)]
    blocks += [doc.Paragraph(f"说明：{note}。") for note in evaluation.notes]
    return blocks + _method(evaluation) + _ranking(evaluation) + _charts(evaluation)


def _method(evaluation: Evaluation) -> list:
    rows = [[LABELS[k], f"{w:g}", RULES[k]] for k, w in evaluation.weights.items()]
    grades = (
        "总分为各已评估维度得分之和除以这些维度的分值之和，折算为百分制；等级：优秀90分及以上，良好75分至"
        "90分以下，合格60分至75分以下，不合格60分以下。较上年变化只按两个年度均评估的维度同口径计算，"
        "否则为“不可比”。"
    )
    return [
        doc.Heading("（一）评估方法", 2),
        doc.Paragraph(grades),
        doc.Table(["维度", "分值", "评分规则"], rows, widths=[1.3, 0.6, 6]),
    ]


def _ranking(evaluation: Evaluation) -> list:
    rows = [
        [a.rank, a.name, _points(a.total), a.grade, f"{100 * a.measured_share:.0f}%", _change_cell(a)]
        for a in evaluation.agencies
    ]
    keys = list(evaluation.weights)
    scores = [[a.name, *[_dimension_cell(a, k) for k in keys]] for a in evaluation.agencies]
    return [
        doc.Heading("（二）评估结果", 2),
        doc.Table(
            ["排名", "数据开放主体", "总分", "等级", "评估覆盖", "较上年（同口径）"],
            rows,
            widths=[0.6, 3, 0.9, 0.8, 1, 1.3],
            note="评估覆盖：已评估维度的分值占全部分值的比例。",
        ),
        doc.Table(
            ["数据开放主体", *[LABELS[k] for k in keys]],
            scores,
            widths=[2.6, *[1] * len(keys)],
            note="表中为各维度得分；“未评估”“无此事项”不计入该单位总分的分母。",
        ),
    ]


def _charts(evaluation: Evaluation) -> list:
    return [
        doc.Image(png, caption, width_cm=11 if "等级" in caption else 15.6)
        for caption, png in report_charts(evaluation)
    ]


def _nonzero(*clauses: tuple[int, str]) -> str:
    """The clauses (count, text with {n}) whose count is not zero, joined: a zero is no problem."""
    return "，".join(text.format(n=n) for n, text in clauses if n)


def _problems(evaluation: Evaluation) -> list[tuple[str, str, str]]:
    """(problem heading, problem text, suggestion) for each weakness the figures show."""
    agencies = evaluation.agencies
    city = evaluation.city_mean()
    found = []

    def total(key: str, field: str) -> int:
        return sum(int(a.dimensions[key].inputs.get(field, 0) or 0) for a in agencies)

    def weak(key: str) -> int:
        return sum(
            1 for a in agencies if a.dimensions[key].ratio is not None and a.dimensions[key].ratio < 0.6
        )

    late = total("timeliness", "late")
    if late:
        found.append(
            (
                "数据更新不及时",
                _nonzero(
                    (weak("timeliness"), "{n} 个单位更新及时性得分率低于60%"),
                    (late, "共 {n} 个定期更新的数据集未按声明的频率更新"),
                )
                + f"，全市平均得分率 {100 * (city['timeliness'] or 0):.1f}%。",
                "按开放清单声明的频率更新数据；不定期产生或不再更新的数据，依第九条（五）列为静态数据，"
                "并在清单中如实标注。",
            )
        )
    unprofiled = total("quality", "checked") - total("quality", "profiled")
    if city["quality"] is not None and (city["quality"] < WEAK or unprofiled):
        found.append(
            (
                "数据质量有待提升",
                f"已测维度的全市平均得分率为 {100 * city['quality']:.1f}%"
                + (f"；{unprofiled} 个已检测的数据集未提供数据文件，内容质量（完整性、唯一性、有效性、"
                   "一致性）未能评估" if unprofiled else "")
                + "。",
                "补充字段说明、规范数据格式（第九条、第十六条），向市大数据中心提供数据文件或样本数据，"
                "使内容质量可以测得。",
            )
        )
    overdue = total("review_sla", "overdue") + total("review_sla", "pending_overdue")
    unreasoned = total("review_sla", "missing_reason")
    if overdue or unreasoned:
        found.append(
            (
                "申请审核不够及时规范",
                _nonzero(
                    (overdue, "共 {n} 件开放申请超过5个工作日办结或逾期未办结"),
                    (unreasoned, "{n} 件不予受理或驳回未一次性告知理由"),
                )
                + "（第十九条）。",
                "收到工单后5个工作日内完成审核，审核不通过的一次性告知理由。",
            )
        )
    late_verify = total("complaints", "complaints") - total("complaints", "verified_in_time")
    late_suspend = total("security", "complaints") - total("security", "suspended_in_time")
    if late_verify or late_suspend:
        found.append(
            (
                "权益投诉处置不够及时",
                _nonzero(
                    (late_suspend, f"{{n}} 件投诉未在收到后{SUSPEND_WITHIN_HOURS}小时内中止开放"),
                    (late_verify, f"{{n}} 件投诉未在{VERIFY_WITHIN_WORKING_DAYS}个工作日内完成核实"),
                )
                + "。第二十六条规定，收到相关证据材料后认为必要的，应当立即中止开放，同时进行核实；"
                "细则未规定具体时限，上述时限为本评估的衡量标准。",
                "收到涉及商业秘密、个人隐私等合法权益的投诉后，认为必要的立即中止开放，同时进行核实，"
                "根据核实结果撤回数据、恢复开放或者处理后再开放，并及时反馈（第二十六条）。",
            )
        )
    closed = total("quantity", "closed") + total("quantity", "suspended")
    if city["quantity"] is not None and city["quantity"] < WEAK:
        found.append(
            (
                "清单开放比例偏低",
                "各单位开放清单中已实际开放的数据集比例平均为 "
                f"{100 * city['quantity']:.1f}%，"
                f"共 {closed} 个清单数据集为非开放类或处于中止开放状态。",
                "按年度开放计划和分级分类指南，对非开放类数据评估脱敏脱密后开放的可能（第十二条、第十四条）。",
            )
        )
    unused = sum(
        max(
            int(a.dimensions["utilisation"].inputs.get("open", 0) or 0)
            - int(a.dimensions["utilisation"].inputs.get("used", 0) or 0),
            0,
        )
        for a in agencies
        if a.dimensions["utilisation"].ratio is not None
    )
    if unused:
        found.append(
            (
                "部分数据利用不足",
                f"共 {unused} 个开放数据集全年无有效调用。",
                "征集开放需求、加强场景牵引（第七条），对长期无人调用的数据集评估其内容和格式。",
            )
        )
    share = evaluation.key_figures.get("mean_measured_share")
    if share is not None and share < 1:
        found.append(
            (
                "部分事项未能评估",
                f"各单位平均只有 {100 * share:.0f}% 的分值得到评估，未评估的维度既不加分也不扣分。",
                "完善数据质量检测和平台日志接入，使下一年度的评估覆盖全部维度。",
            )
        )
    return found


def _problems_and_suggestions(evaluation: Evaluation) -> list:
    found = _problems(evaluation)
    blocks: list = [doc.Heading("二、主要问题")]
    if not found:
        blocks.append(doc.Paragraph("本年度评估未发现突出问题。"))
    for n, (title, text, _) in enumerate(found, start=1):
        blocks.append(doc.Paragraph(f"{doc.number(2, n)}{title}。{text}"))
    blocks.append(doc.Heading("三、工作建议"))
    suggestions = [s for _, _, s in found]
    if evaluation.key_figures.get("violations"):
        suggestions.append(
            "对有条件开放数据加强利用情况跟踪，防范恶意调用（第三十条），对违法违规的利用主体依"
            "第三十一条采取限制或关闭数据获取权限等措施。"
        )
    suggestions.append(
        "各数据开放主体应当根据评估结果改进公共数据开放工作（第三十七条），对失分事项登记整改事项并按期完成。"
    )
    for n, text in enumerate(suggestions, start=1):
        blocks.append(doc.Paragraph(f"{doc.number(2, n)}{text}"))
    return blocks


def _agency_section(number: int, agency: AgencyEvaluation, count: int) -> list:
    headline = (
        f"总分 {agency.total:.2f} 分，等级{agency.grade}，排名第 {agency.rank} 位（共 {count} 个单位"
        "），"
        f"评估覆盖 {100 * agency.measured_share:.0f}% 的分值。较上年：{_change_text(agency)}。"
    )
    rows = [
        [
            d.label,
            f"{d.weight:g}",
            d.status_text or _points(d.points),
            "—" if d.lost_points is None else _points(d.lost_points),
            inputs_text(d),
        ]
        for d in agency.dimensions.values()
    ]
    blocks = [
        doc.Heading(f"{doc.number(2, number)}{agency.name}", 2),
        doc.Paragraph(headline),
        doc.Table(["维度", "分值", "得分", "失分", "依据"], rows, widths=[1.3, 0.6, 0.9, 0.7, 5.2]),
    ]
    reasons = [f"{d.label}：{reason}" for d in agency.dimensions.values() for reason in d.lost]
    if reasons:
        blocks.append(
            doc.Paragraph(
                "失分及未评估原因："
                + "；".join(f"{doc.number(3, n)}{reason}" for n, reason in enumerate(reasons, start=1))
                + "。"
            )
        )
    for note in agency.context:
        blocks.append(doc.Paragraph(f"情况说明：{note}。"))
    return blocks


def _agencies(evaluation: Evaluation) -> list:
    blocks: list = [doc.Heading("四、各单位评估情况")]
    for number, agency in enumerate(evaluation.agencies, start=1):
        blocks += _agency_section(number, agency, len(evaluation.agencies))
    return blocks


def signature_day(evaluation: Evaluation, settings: Settings) -> date:
    """The 落款 date: a published or final year is dated the day it was published or finalized (its
    stored time), so every later export of the same text carries the same date; only a draft, which
    changes with the platform, is dated the day it is written (or `report_date`)."""
    stored = evaluation.recorded_day() if evaluation.state != "draft" else None
    return stored or settings.report_date or clock.today()


def _signature(evaluation: Evaluation, settings: Settings) -> list:
    blocks = [
        doc.Paragraph(""),
        doc.Paragraph(settings.report_issuer, "signature"),
        doc.Paragraph(chinese_date(signature_day(evaluation, settings)), "signature"),
    ]
    if evaluation.content_hash:
        blocks.append(
            doc.Paragraph(
                f"内容校验码（SHA-256）：{evaluation.content_hash}", "small"
            )
        )
    return blocks


def _issue_text(issue: dict) -> str:
    return (
        f"{QUALITY_LABELS.get(issue['dimension'], '其他')}：{issue['cause']}（扣 {issue['points']:.2f} 分）"
    )


def _annex_quality(evaluation: Evaluation) -> list:
    rows = [
        [
            i,
            w["dataset"],
            w["agency"],
            f"{w['score']:.1f}%",
            f"{100 * w['measured_share']:.0f}%",
            "\n".join(_issue_text(x) for x in w["issues"]) or "—",
        ]
        for i, w in enumerate(evaluation.worst_datasets, start=1)
    ]
    return [
        doc.PageBreak(),
        doc.Paragraph("附件1", "body"),
        doc.Paragraph("已测维度得分率较低的数据集及其问题", "center"),
        doc.Table(
            ["序号", "数据集", "数据开放主体", "得分率", "测得分值占比", "主要问题"],
            rows,
            widths=[0.5, 2.2, 2, 0.8, 0.9, 4.5],
            note="得分率只计已测得的维度；未提供数据文件的数据集，内容维度未评估。",
        ),
    ]


def violation_rows(evaluation: Evaluation) -> list[list]:
    """附件2's rows, the day typed (the workbook's date cells; the document writes it in Chinese)."""
    return [
        [
            date.fromisoformat(v["recorded_on"]) if v["recorded_on"] else None,
            v["agency"],
            v["dataset"],
            v["consumer"],
            v["article"] + v["category"],
            SEVERITY_LABELS.get(v["severity"], "未定级"),
            "、".join(v["measures"]) or "记录在案",
            v["publicized"],
        ]
        for v in evaluation.violations
    ]


def _annex_violations(evaluation: Evaluation) -> list:
    printed = violation_rows(evaluation)[:PRINTED_VIOLATIONS]
    rows = [[chinese_date(day) if day else "—", *rest] for day, *rest in printed]
    note = "系利用主体的行为，作为情况说明，不计入数据开放主体得分；自然人姓名已脱敏。"
    if len(evaluation.violations) > PRINTED_VIOLATIONS:
        note += (f"共 {len(evaluation.violations)} 条，此处列出最近 {PRINTED_VIOLATIONS} 条，"
                 "完整清单见电子表格版。")
    return [
        doc.PageBreak(),
        doc.Paragraph("附件2", "body"),
        doc.Paragraph(f"{evaluation.year}年度利用主体违法违规记录", "center"),
        doc.Table(
            ["记录日期", "数据开放主体", "数据集", "利用主体", "情形", "严重程度", "处理措施", "已公示"],
            rows,
            widths=[1.1, 1.5, 1.5, 1.4, 2.6, 0.7, 1.2, 0.6],
            note=note,
        ),
    ]


def annual_document(evaluation: Evaluation, settings: Settings) -> doc.Document:
    """The report as blocks, shared by the PDF and DOCX writers."""
    document = doc.Document(f"{evaluation.year}年度公共数据开放工作评估报告")
    document.add(
        *_opening(evaluation),
        *_overview(evaluation),
        *_problems_and_suggestions(evaluation),
        *_agencies(evaluation),
        *_signature(evaluation, settings),
        *_annex_quality(evaluation),
        *_annex_violations(evaluation),
    )
    return document


# ---------------------------------------------------------------- the workbook


def _explanation(evaluation: Evaluation, settings: Settings) -> Sheet:
    rows = [
        ["报告", f"{evaluation.year}年度公共数据开放工作评估报告"],
        ["状态", _state_text(evaluation)],
        ["数据截至", chinese_date(evaluation.as_of)],
        ["发文机关", settings.report_issuer],
        ["内容校验码（SHA-256）", evaluation.content_hash or "草稿无校验码"],
        ["评估依据", f"{RULES_CITED}第三十七条。{DRAFT_NOTE}"],
        ["总分", "各已评估维度得分之和除以这些维度的分值之和，折算为百分制；“未评估”“无此事项”不计入分母。"],
        ["较上年", "只按两个年度均评估的维度同口径计算，否则为“不可比”并说明原因。"],
        *[[f"维度：{LABELS[k]}（{w:g}分）", RULES[k]] for k, w in evaluation.weights.items()],
        *[["说明", note] for note in evaluation.notes],
        ["工作表“关键指标”", "本年度全市的关键数字。"],
        ["工作表“排名”", "各单位总分、等级、评估覆盖和较上年同口径变化。"],
        ["工作表“各维度得分”", "每个单位每个维度的得分、状态、依据和失分原因，可按单位或维度筛选。"],
        ["工作表“质量较低数据集”", "已测维度得分率最低的数据集及其主要问题。"],
        ["工作表“违法违规记录”", "利用主体的违法违规记录，不计入数据开放主体得分；自然人姓名已脱敏。"],
    ]
    return Sheet("说明", [Column("项目", width=24), Column("内容", width=100)], rows)


def annual_sheets(evaluation: Evaluation, settings: Settings) -> list[Sheet]:
    """Every table of the report as a typed sheet, with a 说明 sheet first."""
    f = evaluation.key_figures
    figures = [
        ["参评数据开放主体", f["agencies"], "个"],
        ["开放数据集", f["open_datasets"], "个"],
        ["本年度新增数据集", f["new_datasets"], "个"],
        ["质量检测数据集", f["checked_datasets"], "个"],
        ["提供数据文件的数据集", f["profiled_datasets"], "个"],
        ["有效调用", f["calls"], "次"],
        ["下载", f["downloads"], "次"],
        ["应办结开放申请", f["applications_due"], "件"],
        [
            "5个工作日内办结率",
            None
            if f["share_within_5_working_days"] is None
            else round(100 * f["share_within_5_working_days"], 1),
            "%",
        ],
        ["投诉", f["complaints"], "件"],
        ["利用主体违法违规记录", f["violations"], "起"],
        ["平均总分", f["mean_total"], "分"],
        [
            "平均评估覆盖",
            None if f["mean_measured_share"] is None else round(100 * f["mean_measured_share"], 1),
            "%",
        ],
    ]
    ranking = [
        [
            a.rank,
            a.name,
            a.total,
            a.grade,
            a.measured_share,
            a.change,
            "" if a.change is not None else _change_text(a),
        ]
        for a in evaluation.agencies
    ]
    details = [
        [
            a.name,
            d.label,
            d.weight,
            d.points,
            d.ratio,
            d.status_text or "已评估",
            inputs_text(d),
            "；".join(d.lost),
        ]
        for a in evaluation.agencies
        for d in a.dimensions.values()
    ]
    worst = [
        [
            i,
            w["dataset"],
            w["agency"],
            w["score"] / 100,
            w["measured_share"],
            "；".join(_issue_text(x) for x in w["issues"]),
        ]
        for i, w in enumerate(evaluation.worst_datasets, 1)
    ]
    return [
        _explanation(evaluation, settings),
        Sheet("关键指标", [Column("指标"), Column("数值", "number"), Column("单位")], figures),
        Sheet(
            "排名",
            [
                Column("排名", "int"),
                Column("数据开放主体"),
                Column("总分", "number"),
                Column("等级"),
                Column("评估覆盖", "percent"),
                Column("较上年同口径变化（分）", "number"),
                Column("不可比原因"),
            ],
            ranking,
        ),
        Sheet(
            "各维度得分",
            [
                Column("数据开放主体"),
                Column("维度"),
                Column("分值", "number"),
                Column("得分", "number"),
                Column("得分率", "percent"),
                Column("状态"),
                Column("依据", width=60),
                Column("失分及未评估原因", width=60),
            ],
            details,
        ),
        Sheet(
            "质量较低数据集",
            [
                Column("序号", "int"),
                Column("数据集"),
                Column("数据开放主体"),
                Column("已测维度得分率", "percent"),
                Column("测得分值占比", "percent"),
                Column("主要问题", width=80),
            ],
            worst,
        ),
        Sheet(
            "违法违规记录",
            [
                Column("记录日期", "date"),
                Column("数据开放主体"),
                Column("数据集"),
                Column("利用主体"),
                Column("情形"),
                Column("严重程度"),
                Column("处理措施"),
                Column("已公示", "bool"),
            ],
            violation_rows(evaluation),
        ),
    ]


def render_annual(
    evaluation: Evaluation, settings: Settings, fmt: str, out: Path, document: doc.Document | None = None
) -> Path:
    """Write an already computed evaluation in one format; pass `document` to reuse its charts."""
    fmt = check_format(fmt, ANNUAL_FORMATS)
    if fmt == "xlsx":
        return write_atomically(out, lambda tmp: write_workbook(tmp, annual_sheets(evaluation, settings)))
    document = document or annual_document(evaluation, settings)
    writer = write_pdf if fmt == "pdf" else write_docx
    return write_atomically(out, lambda tmp: writer(document, tmp))


def write_annual_report(client: Client, settings: Settings, year: int, fmt: str, out: Path) -> Path:
    """Evaluate `year` (or read its stored version) and write the annual report as pdf, docx or xlsx."""
    check_format(fmt, ANNUAL_FORMATS)
    return render_annual(evaluate_year(client, settings, year), settings, fmt, Path(out))
