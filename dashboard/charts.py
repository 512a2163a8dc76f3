"""Plotly figures the pages share: one look, titles and axis labels from the catalog.

Each helper takes a polars DataFrame and already-translated labels and returns a
figure; the page decides where it goes and whether a selection drills down.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.express as px
import plotly.graph_objects as go
import polars as pl

HEIGHT = 340


def _finish(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(title=title, height=HEIGHT, margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      legend_title_text="")
    return fig


def bar(df: pl.DataFrame, x: str, y: str, title: str, labels: dict[str, str] | None = None,
        color: str | None = None, horizontal: bool = False,
        colours: dict[str, str] | None = None) -> go.Figure:
    """A bar chart; horizontal bars keep long Chinese names readable."""
    data = df.to_pandas()
    if horizontal:
        fig = px.bar(data, x=y, y=x, color=color, orientation="h", labels=labels or {},
                     color_discrete_map=colours or {})
        fig.update_yaxes(autorange="reversed")
        # One readable row per bar: grow with the number of categories.
        rows = df[x].n_unique() if df.height else 0
        return _finish(fig, title).update_layout(height=max(HEIGHT, 24 * rows + 90))
    else:
        fig = px.bar(data, x=x, y=y, color=color, labels=labels or {}, color_discrete_map=colours or {})
    return _finish(fig, title)


def line(df: pl.DataFrame, x: str, y: str | Sequence[str], title: str,
         labels: dict[str, str] | None = None, color: str | None = None) -> go.Figure:
    fig = px.line(df.to_pandas(), x=x, y=y, color=color, labels=labels or {}, markers=df.height < 60)
    return _finish(fig, title)


def pie(df: pl.DataFrame, names: str, values: str, title: str,
        colours: dict[str, str] | None = None) -> go.Figure:
    fig = px.pie(df.to_pandas(), names=names, values=values, hole=0.45, color=names,
                 color_discrete_map=colours or {})
    return _finish(fig, title)


def heatmap(df: pl.DataFrame, x: str, y: str, z: str, title: str,
            labels: dict[str, str] | None = None) -> go.Figure:
    """A heatmap of z over (x, y) from long-form rows; missing cells are zero."""
    wide = df.select(x, y, z).pivot(on=x, index=y, values=z, aggregate_function="sum").fill_null(0)
    columns = [c for c in wide.columns if c != y]
    # drop(), not select(): a field named "*" (all fields) would select every column.
    fig = px.imshow(wide.drop(y).to_numpy(), x=columns, y=wide[y].cast(pl.Utf8).to_list(),
                    labels=labels or {}, aspect="auto", color_continuous_scale="Blues")
    return _finish(fig, title)


def radar(categories: Sequence[str], series: dict[str, Sequence[float]], title: str,
          range_max: float = 100.0) -> go.Figure:
    """One closed polygon per series over the same categories (e.g. an agency vs the average)."""
    fig = go.Figure()
    for name, values in series.items():
        values = list(values)
        fig.add_trace(go.Scatterpolar(r=values + values[:1], theta=list(categories) + list(categories[:1]),
                                      fill="toself", name=name))
    fig.update_layout(polar={"radialaxis": {"visible": True, "range": [0, range_max]}})
    return _finish(fig, title)


def selected_rows(event: object) -> list[int]:
    """Row numbers of the points a user picked on a single-trace chart (`st.plotly_chart(on_select=...)`).

    A bar chart drawn from a frame without a colour split has one trace, so a
    point's index is the frame's row number.
    """
    if not event:
        return []
    selection = event.get("selection") if isinstance(event, dict) else getattr(event, "selection", None)
    if not selection:
        return []
    indices = selection.get("point_indices") if isinstance(selection, dict) else selection.point_indices
    return sorted(set(indices or []))


def label_columns(df: pl.DataFrame, prefix: str = "pages.col") -> pl.DataFrame:
    """Column headers in the user's language (`pages.col.<name>`); unknown names stay as they are."""
    from odwatch.i18n import catalog, current_language

    messages = catalog(current_language())
    return df.rename({c: messages[f"{prefix}.{c}"] for c in df.columns if f"{prefix}.{c}" in messages})
