"""Server-drawn SVG charts for the listening dashboard: no script, no chart library, readable
Chinese (the CJK fonts the curator's system has), colours with enough contrast on white.
Presentation attributes only (no style attributes or elements), so a strict CSP allows them."""
from __future__ import annotations

import math
from datetime import date
from xml.sax.saxutils import escape, quoteattr

FONT = "'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif"
COLOURS = ("#8b3a12", "#1f5f8b", "#2e6b30", "#6a3d9a", "#9c6500", "#4d4d4d", "#b0306a", "#00707a")
INK, GRID, MUTED = "#1c1b19", "#d9d4cc", "#55514b"


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
            f' role="img" aria-label={quoteattr(label)} font-family="{FONT}" font-size="13" fill="{INK}">'
            f"<title>{escape(label)}</title>{''.join(body)}</svg>")


def nice_top(value: float) -> float:
    """The smallest 1/2/5 x 10^n at or above ``value`` (at least 1): a y axis people can read."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def plays_over_time(series: dict[str, list[int]], days: list[date], label: str = "每日播放次数") -> str:
    width, height, left, right, top, bottom = 760, 300, 52, 16, 40, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    y_max = nice_top(max((max(v) for v in series.values() if v), default=0))
    n = max(1, len(days) - 1)

    def x(i: int) -> float:
        return left + plot_w * i / n

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    body = []
    for k in range(5):
        v = y_max * k / 4
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" fill="{MUTED}">{v:g}</text>')
    step = max(1, math.ceil(len(days) / 8))
    for i in range(0, len(days), step):
        body.append(f'<text x="{x(i):.1f}" y="{height - 12}" text-anchor="middle" fill="{MUTED}">{days[i]:%m-%d}</text>')
    legend_x = left
    for (name, values), colour in zip(series.items(), COLOURS * 8):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"'
                    f' stroke-linejoin="round"><title>{escape(name)}：共 {sum(values)} 次</title></polyline>')
        body.append(f'<rect x="{legend_x}" y="12" width="14" height="14" rx="2" fill="{colour}"/>'
                    f'<text x="{legend_x + 20}" y="24">{escape(name)}（{sum(values)}）</text>')
        legend_x += 40 + 14 * len(name) + 8 * len(str(sum(values)))
    if not series:
        body.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" fill="{MUTED}">这段时间没有收听记录</text>')
    return _svg(width, height, label, body)


def sparkline(values: list[int], label: str) -> str:
    width, height = 120, 28
    top = max(values, default=0) or 1
    n = max(1, len(values) - 1)
    points = " ".join(f"{2 + (width - 4) * i / n:.1f},{height - 3 - (height - 6) * v / top:.1f}" for i, v in enumerate(values))
    return _svg(width, height, label, [f'<polyline points="{points}" fill="none" stroke="{COLOURS[0]}" stroke-width="1.8"/>'])


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def drop_off(sentences, plays: int, title: str) -> str:
    """One bar per sentence: the share of listeners who reached it; the steepest fall is marked."""
    width, row, top, text_w, bar_w = 760, 30, 34, 420, 240
    height = top + row * max(1, len(sentences)) + 12
    falls = [(sentences[i - 1].share - s.share, i) for i, s in enumerate(sentences) if i]
    steepest = max(falls)[1] if falls and max(falls)[0] > 0 else None
    body = [f'<text x="0" y="18" font-weight="bold">{escape(_clip(title, 40))} · {plays} 次播放</text>',
            f'<text x="{text_w + bar_w + 60}" y="18" text-anchor="end" fill="{MUTED}">听到这一句的比例</text>']
    for s in sentences:
        y = top + row * s.index
        colour = "#b3261e" if s.index == steepest else COLOURS[1]
        body.append(f'<g><title>第{s.index + 1}句：{escape(s.text)}（{s.reached}/{plays}）</title>'
                    f'<text x="0" y="{y + 19}">{s.index + 1:>2}. {escape(_clip(s.text, 28))}</text>'
                    f'<rect x="{text_w}" y="{y + 5}" width="{bar_w}" height="18" fill="#eee9e1"/>'
                    f'<rect x="{text_w}" y="{y + 5}" width="{bar_w * s.share:.1f}" height="18" fill="{colour}"/>'
                    f'<text x="{text_w + bar_w + 60}" y="{y + 19}" text-anchor="end">{s.share:.0%}</text></g>')
    if not sentences:
        body.append(f'<text x="0" y="{top + 19}" fill="{MUTED}">这件展品还没有带时间轴的讲解音频</text>')
    return _svg(width, height, f"{title}：各句收听到达率", body)
