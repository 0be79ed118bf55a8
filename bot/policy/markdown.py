"""User text made inert in the bot's Markdown: the ONE place that escapes what people wrote.

Logins, reasons, paths, labels, company names and commands come from people who may be hostile;
in a check-run summary or a comment they must read as written and never become markup, a link,
an image, HTML or a mention. Every fragment returned here is one line and safe in a GFM table
cell as well as in running text.

- `text`: plain text. Every ASCII punctuation character that could open Markdown or HTML is
  backslash-escaped (CommonMark: any ASCII punctuation may be escaped), which also keeps `|` from
  opening a table column. A backslash does not stop GitHub from linking `@login` or
  `@org/team`, nor does an HTML entity: a zero-width joiner after the `@` does. Autolinks
  (`https://`, `www.`) are broken the same way.
- `code`: a code span that cannot be broken out of: its fence is one backtick longer than the
  longest run inside (CommonMark 6.1). Inside code nothing is markup and nothing mentions;
  only `|` still needs its backslash in a table cell (GFM 4.10), and it gets one everywhere.
- `mention`: the bot's own mention of a GitHub account, live only for a valid login.
"""

from __future__ import annotations

import re

ZERO_WIDTH_JOINER = "\u200d"
# The characters that open markup in GFM, of CommonMark's escapable ones: emphasis, code, links
# and images (`[`; `(` is harmless without it), HTML and autolinks, headings, list markers,
# strikethrough, entities and table columns.
_ESCAPED = frozenset("\\`*_[]<>#+-.!|~&")
_AUTOLINK = re.compile(r"(://|www\.)", re.IGNORECASE)
# GitHub logins: letters, digits and single hyphens, not at either end; apps end in "[bot]".
_LOGIN = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9])*(?:\[bot\])?")


def one_line(value: str) -> str:
    """Whitespace of any kind (newlines included) as single spaces."""
    return " ".join(value.split())


def no_mentions(value: str) -> str:
    """`@` followed by a zero-width joiner: GitHub then links no user and no team."""
    return value.replace("@", "@" + ZERO_WIDTH_JOINER)


def text(value: str) -> str:
    """Plain user text as one inert line of Markdown."""
    unlinked = _AUTOLINK.sub(
        lambda found: found[0][0] + ZERO_WIDTH_JOINER + found[0][1:], one_line(value)
    )
    return no_mentions("".join("\\" + char if char in _ESCAPED else char for char in unlinked))


def as_shown(markdown: str) -> str:
    """What GitHub shows of `text`'s output: its backslash escapes and mention breakers gone."""
    return re.sub(r"\\(.)", r"\1", markdown).replace(ZERO_WIDTH_JOINER, "")


def code(value: str) -> str:
    """`value` in a code span no backtick inside can close (one line, `|` escaped for tables)."""
    inner = one_line(value).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", inner)), default=0)
    fence = "`" * (longest + 1)
    # A span starting or ending with a backtick needs a space, which CommonMark strips again.
    if inner.startswith("`") or inner.endswith("`") or not inner.strip():
        inner = f" {inner} "
    return f"{fence}{inner}{fence}"


def named_company(name: str, company_id: str) -> str:
    """A company as a summary names it: its display name with its map id beside it, so that a
    look-alike name cannot pass for another company ("Acme (`acme`)")."""
    return f"{text(name)} ({code(company_id)})"


def mention(login: str) -> str:
    """`@login` for a real login (a bot's mention that GitHub may link); anything else inert."""
    if _LOGIN.fullmatch(login):
        return f"@{login}"
    return text(f"@{login}")
