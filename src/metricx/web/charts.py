"""SVG geometry for sparklines and the revenue-versus-spend chart, computed on the server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from metricx.web.format import money, short_date, to_number


def _points(
    values: Sequence[float | None],
    width: float,
    height: float,
    top: float,
    low: float,
    high: float,
    left: float = 0.0,
) -> str:
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    out = []
    for i, value in enumerate(values):
        if value is None:
            continue
        x = left + i * step
        y = top + height - (value - low) / span * height
        out.append(f"{x:.1f},{y:.1f}")
    return " ".join(out)


def sparkline(series: Any, width: int = 120, height: int = 32) -> dict[str, Any] | None:
    """Polyline points for a [{date, value}] series, or None when there is nothing to draw."""
    values = [to_number(p.get("value")) for p in series or [] if isinstance(p, dict)]
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return None
    low, high = min(known), max(known)
    line = _points(values, width - 4, height - 6, 3, low, high, 2)
    first_x = line.split(",", 1)[0]
    last_x = line.rsplit(" ", 1)[-1].split(",")[0]
    area = f"{first_x},{height} {line} {last_x},{height}"
    return {"width": width, "height": height, "points": line, "area": area}


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if factor * magnitude >= value:
            return float(factor * magnitude)
    return float(10 * magnitude)


def trend_chart(rows: Any, currency: str, width: int = 760, height: int = 260) -> dict[str, Any]:
    """Lines, gridlines and labels for revenue and spend, current and previous period."""
    rows = [r for r in rows or [] if isinstance(r, dict)]
    # The left margin holds the money labels, also at the phone's larger axis font.
    left, right, top, bottom = 80.0, 12.0, 12.0, 28.0
    plot_w, plot_h = width - left - right, height - top - bottom
    keys = ("revenue", "spend", "previous_revenue", "previous_spend")
    columns = {k: [to_number(r.get(k)) for r in rows] for k in keys}
    everything = [v for vals in columns.values() for v in vals if v is not None]
    high = _nice_max(max(everything, default=0.0))
    lines = {
        k: _points(vals, plot_w, plot_h, top, 0.0, high, left) if len(vals) > 1 else ""
        for k, vals in columns.items()
    }
    grid = []
    for i in range(5):
        value = high * i / 4
        y = top + plot_h - plot_h * i / 4
        grid.append({"y": f"{y:.1f}", "label": money(value, currency, compact=True)})
    ticks = []
    if rows:
        count = len(rows)
        wanted = min(count, 6)
        step = plot_w / max(count - 1, 1)
        seen = set()
        for j in range(wanted):
            i = round(j * (count - 1) / max(wanted - 1, 1))
            if i in seen:
                continue
            seen.add(i)
            anchor = "start" if i == 0 else ("end" if i == count - 1 else "middle")
            ticks.append(
                {
                    "x": f"{left + i * step:.1f}",
                    "label": short_date(rows[i].get("date")),
                    "anchor": anchor,
                }
            )
    has_previous = any(v is not None for v in columns["previous_revenue"])
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": top + plot_h,
        "lines": lines,
        "grid": grid,
        "ticks": ticks,
        "has_previous": has_previous,
        "empty": not everything,
    }


def mix_bars(spend_mix: Any) -> list[dict[str, Any]]:
    """Spend mix rows with each platform's share computed from the spends themselves."""
    rows = [r for r in spend_mix or [] if isinstance(r, dict)]
    spends = [max(to_number(r.get("spend")) or 0.0, 0.0) for r in rows]
    total = sum(spends)
    out = []
    for row, spend in sorted(zip(rows, spends, strict=True), key=lambda p: -p[1]):
        share = spend / total if total else None
        out.append({**row, "share": share, "bar": f"{(share or 0) * 100:.1f}"})
    return out
