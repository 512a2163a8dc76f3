"""Charts of the annual report as PNG bytes (matplotlib, the 黑体 face for the Chinese labels).

Figures are built with the object API (no pyplot state), so the dashboard's
threads and the CLI can render them side by side.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from reports.evaluation import GRADES, LABELS, Evaluation
from reports.export.fonts import chart_font

GRADE_COLOURS = {"优秀": "#2e7d32", "良好": "#1565c0", "合格": "#f9a825", "不合格": "#c62828"}
DPI = 100


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _label_ticks(axis, font) -> None:
    for label in axis.get_xticklabels() + axis.get_yticklabels():
        label.set_fontproperties(font)


def ranking_chart(evaluation: Evaluation) -> bytes:
    """Total per agency, best at the top, coloured by grade, with the grade boundaries."""
    font = chart_font()
    agencies = evaluation.agencies
    figure = Figure(figsize=(7.5, max(2.5, 0.26 * len(agencies) + 1)), layout="constrained")
    axis = figure.add_subplot()
    names = [a.name for a in reversed(agencies)]
    axis.barh(names, [a.total for a in reversed(agencies)],
              color=[GRADE_COLOURS[a.grade] for a in reversed(agencies)])
    for floor, _ in GRADES[:-1]:
        axis.axvline(floor, color="#777777", linewidth=0.6, linestyle="--")
    axis.set_xlim(0, 100)
    axis.set_xlabel("总分", fontproperties=font)
    axis.set_title(f"{evaluation.year} 年度各数据开放主体总分", fontproperties=font)
    _label_ticks(axis, font)
    return _png(figure)


def dimension_chart(evaluation: Evaluation) -> bytes:
    """Share of the points earned per dimension, averaged over the agencies scored on it."""
    font = chart_font()
    city = evaluation.city_mean()
    keys = [k for k in evaluation.weights if city[k] is not None]
    means = [100 * city[k] for k in keys]
    figure = Figure(figsize=(7.5, 3.2), layout="constrained")
    axis = figure.add_subplot()
    axis.bar([LABELS[k] for k in keys], means, color="#1565c0")
    axis.set_ylim(0, 100)
    axis.set_ylabel("得分率（%）", fontproperties=font)
    axis.set_title("各评估维度平均得分率", fontproperties=font)
    _label_ticks(axis, font)
    return _png(figure)


def grade_chart(evaluation: Evaluation) -> bytes:
    """How many agencies in each grade."""
    font = chart_font()
    grades = [label for _, label in GRADES]
    counts = [evaluation.key_figures["grades"].get(label, 0) for label in grades]
    figure = Figure(figsize=(5, 2.8), layout="constrained")
    axis = figure.add_subplot()
    axis.bar(grades, counts, color=[GRADE_COLOURS[g] for g in grades])
    axis.set_ylabel("部门数", fontproperties=font)
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_title("等级分布", fontproperties=font)
    _label_ticks(axis, font)
    return _png(figure)


def report_charts(evaluation: Evaluation) -> list[tuple[str, bytes]]:
    """(caption, PNG) for every chart of the annual report."""
    if not evaluation.agencies:
        return []
    return [("图1 各数据开放主体总分排名", ranking_chart(evaluation)),
            ("图2 各评估维度平均得分率", dimension_chart(evaluation)),
            ("图3 评估等级分布", grade_chart(evaluation))]
