"""The report as one self-contained HTML page: inline CSS and SVG charts, no script, no fonts."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from bot.report import (
    UNCHECKED_NOTE,
    UNCHECKED_TITLE,
    Load,
    Report,
    check_state,
    render_markdown,
    unattributed_note,
    vote_counts,
    vote_line,
)

BAR_HEIGHT = 22
LABEL_WIDTH = 180
CHART_WIDTH = 640
INDEPENDENT = "#2da44e"
OTHER = "#bf8700"


def bar_chart(title: str, rows: Sequence[tuple[str, int, int]]) -> str:
    """Horizontal stacked bars: (label, independent part, other part) per row, as inline SVG."""
    largest = max((a + b for _, a, b in rows), default=0) or 1
    span = CHART_WIDTH - LABEL_WIDTH - 60
    height = BAR_HEIGHT * len(rows) + 10
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" width="{CHART_WIDTH}" height="{height}" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, first, second) in enumerate(rows):
        y = i * BAR_HEIGHT + 5
        w1 = round(span * first / largest)
        w2 = round(span * second / largest)
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{w1}" height="{BAR_HEIGHT - 6}" '
            f'fill="{INDEPENDENT}"><title>{first} independent</title></rect>'
            f'<rect x="{LABEL_WIDTH + w1}" y="{y}" width="{w2}" height="{BAR_HEIGHT - 6}" '
            f'fill="{OTHER}"><title>{second} other</title></rect>'
            f'<text x="{LABEL_WIDTH + w1 + w2 + 6}" y="{y + 15}">{first + second}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _load_rows(loads: dict[str, Load], *, prefix: str = "") -> list[tuple[str, int, int]]:
    return [
        (prefix + name, load.independent, load.approvals - load.independent)
        for name, load in loads.items()
    ]


def wait_histogram(hours: Sequence[float]) -> str:
    """Counts of request-to-approval waits per bucket, as bars."""
    buckets = [("< 4 h", 4.0), ("< 1 day", 24.0), ("< 3 days", 72.0), ("< 1 week", 168.0)]
    rows: list[tuple[str, int, int]] = []
    low = 0.0
    for label, high in buckets:
        rows.append((label, sum(1 for h in hours if low <= h < high), 0))
        low = high
    rows.append(("1 week or more", sum(1 for h in hours if h >= low), 0))
    return bar_chart("Time from review request to independent approval", rows)


def _pull_list(report: Report) -> str:
    items = [
        f'<li><a href="{escape(pr.url)}">#{pr.number}</a> {escape(pr.title)}, merged '
        f"{pr.merged_at:%Y-%m-%d}: "
        + ", ".join(
            f"@{escape(a.reviewer)} ({escape(a.why_not or '')})"
            for a in pr.verdict.approvals
            if not a.excluded
        )
        + "</li>"
        for pr in report.same_company_only
    ]
    return f"<ul>{''.join(items)}</ul>" if items else ""


def _unchecked_list(report: Report) -> str:
    items = [
        f'<li><a href="{escape(pr.url)}">#{pr.number}</a> {escape(pr.title)}, merged '
        f"{pr.merged_at:%Y-%m-%d}: {escape(check_state(pr.check))}</li>"
        for pr in report.unchecked
    ]
    return f"<p>{escape(UNCHECKED_NOTE)}</p><ul>{''.join(items)}</ul>" if items else ""


def _vote_list(report: Report) -> str:
    items = [
        f'<li><a href="{escape(thread.url)}">#{thread.number}</a> {escape(vote_line(thread, str))}'
        + "".join(
            f"; @{escape(login)} abstained as conflicted ({escape(why)})"
            for login, why in thread.vote.abstentions
        )
        + "</li>"
        for thread in report.votes
    ]
    note = unattributed_note(report)
    if not items and note is None:
        return ""
    shown = f"<p>{escape(note)}</p>" if note is not None else ""
    return f"{shown}<p>{escape(vote_counts(report))}</p><ul>{''.join(items)}</ul>"


STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; color: #1f2328 }
table { border-collapse: collapse } td, th { border: 1px solid #d0d7de; padding: .3rem .6rem }
svg text { font: 13px system-ui, sans-serif; fill: #1f2328 }
.key span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem }
pre { white-space: pre-wrap; background: #f6f8fa; padding: 1rem }
"""


def render_html(report: Report) -> str:
    key = (
        f'<p class="key"><span style="background:{INDEPENDENT}"></span>independent approvals'
        f'<span style="background:{OTHER}"></span>other approvals</p>'
    )
    share = report.independent_share
    headline = (
        f"{len(report.independent)} of {len(report.major)} major changes merged with independent "
        f"approval ({share:.0%})"
        if share is not None
        else "No major change was merged in the period"
    )
    sections = [
        f"<h1>Independent review in {escape(report.repository)}</h1>",
        f"<p><strong>{escape(headline)}</strong>; {len(report.same_company_only)} approved only "
        f"from the authors' side; {len(report.merged)} pull requests merged in all.</p>",
        "<h2>Merged with only same-company approval</h2>",
        _pull_list(report) or "<p>None.</p>",
        f"<h2>{escape(UNCHECKED_TITLE)}</h2>",
        _unchecked_list(report) or "<p>None.</p>",
        "<h2>TSC votes</h2>",
        _vote_list(report) or "<p>None.</p>",
        "<h2>Review load per company</h2>",
        key,
        bar_chart("Approvals per company", _load_rows(report.by_company)),
        "<h2>Review load per TSC member</h2>",
        key,
        bar_chart("Approvals per TSC member", _load_rows(report.by_member, prefix="@")),
        "<h2>Time from a request for independent review to the approval</h2>",
        wait_histogram(report.wait_hours),
        "<h2>The report as Markdown</h2>",
        f"<pre>{escape(render_markdown(report))}</pre>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Independent review in {escape(report.repository)}</title>"
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(sections) + "\n</body></html>\n"
    )
