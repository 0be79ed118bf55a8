"""`coi-bot`: the command line. Each subcommand is a thin shell over a library function."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

DEFAULT_MAP = Path("config/affiliations.yml")


def _today() -> date:
    return datetime.now(UTC).date()


def _print_warnings(label: str | Path, warnings: Sequence[object]) -> None:
    for warning in warnings:
        print(warning, file=sys.stderr)
    if warnings:
        print(f"{label}: {len(warnings)} warning(s)", file=sys.stderr)


def _validate(args: argparse.Namespace) -> int:
    from bot.affiliations.loader import load_map_file

    status = 0
    for path in args.files or [DEFAULT_MAP]:
        result = load_map_file(path, warnings_on=_today())
        if result.map is None:
            for error in result.errors:
                print(error, file=sys.stderr)
            print(f"{path}: {len(result.errors)} error(s)", file=sys.stderr)
            status = 1
            continue
        amap = result.map
        print(
            f"{path}: valid: {len(amap.document.people)} people, "
            f"{len(amap.document.companies)} companies, {len(amap.tsc_members())} TSC members"
        )
        _print_warnings(path, result.warnings)
        if args.strict and result.warnings:
            status = 1
    return status


def _schema(args: argparse.Namespace) -> int:
    from bot.affiliations.schema import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def _import(args: argparse.Namespace) -> int:
    from bot.affiliations.importers import ImportFormatError, dump_map, import_gitdm, import_owners
    from bot.affiliations.loader import load_map_text

    text = Path(args.file).read_text(encoding="utf-8")
    try:
        document = import_owners(text) if args.format == "owners" else import_gitdm(text)
    except ImportFormatError as error:
        for problem in error.problems:
            print(f"{args.file}:{problem.line}: {problem.message}", file=sys.stderr)
        print(f"{args.file}: {len(error.problems)} error(s)", file=sys.stderr)
        return 1
    people, companies = len(document.people), len(document.companies)
    if (not people or not companies) and not args.allow_empty:
        found = "no people" if not people else f"{people} people but no company"
        print(
            f"{args.file}: the import found {found}: is this the right file and format?"
            " (--allow-empty writes the map anyway)",
            file=sys.stderr,
        )
        return 1
    text = dump_map(document)
    sys.stdout.write(text)
    written = load_map_text(text, path="<stdout>", warnings_on=_today())
    _print_warnings("<stdout>", written.warnings)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from bot.settings import Settings, SettingsError
    from bot.web.server import serve

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"coi-bot serve: {error}", file=sys.stderr)
        return 2
    serve(settings)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo()


CHECK_EPILOG = """\
credentials: GITHUB_TOKEN (any token that can read the repository), or the App's
GITHUB_APP_ID with GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_FILE (the installation on OWNER
is found through GET /app/installations). COI_MAP_PATH and COI_MAP name the maps as for serve.

exit status: 0 the check would pass (success); 1 it would not (action_required, neutral or
failure), or the --map file is invalid; 2 nothing could be judged (arguments, credentials,
GitHub's answer). Nothing is ever written to GitHub.
"""


def _github_urls(api_url: str | None) -> tuple[str, str]:
    """REST and GraphQL URLs: --api-url wins, then GITHUB_API_URL / GITHUB_GRAPHQL_URL."""
    import os

    from bot.settings import DEFAULT_API_URL, graphql_url_for

    if api_url:
        base = api_url.rstrip("/")
        return base, graphql_url_for(base)
    base = os.environ.get("GITHUB_API_URL", DEFAULT_API_URL).rstrip("/")
    return base, os.environ.get("GITHUB_GRAPHQL_URL") or graphql_url_for(base)


def _check(args: argparse.Namespace) -> int:
    import asyncio
    import os

    from bot.dryrun import CheckError, ProposedMapInvalid, check_command, load_proposed

    map_path = os.environ.get("COI_MAP_PATH", ".github/affiliations.yml")
    try:
        proposed = load_proposed(args.map, map_path=map_path) if args.map else None
        return asyncio.run(
            check_command(
                args.pull_request,
                urls=_github_urls(args.api_url),
                proposed=proposed,
                as_json=args.json,
                map_path=map_path,
                bundled_map=Path(os.environ.get("COI_MAP", str(DEFAULT_MAP))),
            )
        )
    except ProposedMapInvalid as invalid:
        for map_error in invalid.errors:
            print(map_error, file=sys.stderr)
        print(f"coi-bot check: {invalid}", file=sys.stderr)
        return 1
    except CheckError as error:
        print(f"coi-bot check: {error}", file=sys.stderr)
        return 2


REPORT_EPILOG = """\
Each merged PR is judged with the map in force on its base when it was merged. Dates are UTC
days; --until is exclusive (default: today, so the period ends yesterday night); --since defaults
to 90 days before --until. Credentials and --api-url as for `coi-bot check`.
exit status: 0 the report was written; 2 it could not be (arguments, credentials, GitHub).
"""


def _report(args: argparse.Namespace) -> int:
    import asyncio
    import os
    from datetime import UTC, datetime, timedelta

    import gidgethub

    from bot.dryrun import CheckError, Credentials, connect, describe_github_error, parse_repository
    from bot.github.map_source import MapSource, MapSourceError
    from bot.github.snapshot import SnapshotError
    from bot.report import collect, parse_day, progress_printer, render_markdown
    from bot.report_html import render_html

    try:
        owner, repo = parse_repository(args.repository)
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        until = parse_day(args.until, option="--until") if args.until else today
        since = (
            parse_day(args.since, option="--since") if args.since else until - timedelta(days=90)
        )
        if since >= until:
            raise CheckError(
                f"the period is empty: --since {since:%Y-%m-%d} is not before "
                f"--until {until:%Y-%m-%d}"
            )
        credentials = Credentials.from_env()
    except (CheckError, ValueError) as error:
        print(f"coi-bot report: {error}", file=sys.stderr)
        return 2
    api_url, graphql_url = _github_urls(args.api_url)
    maps = MapSource(
        map_path=os.environ.get("COI_MAP_PATH", ".github/affiliations.yml"),
        bundled_map=Path(os.environ.get("COI_MAP", str(DEFAULT_MAP))),
    )

    async def run() -> str:
        async with connect(
            credentials, api_url=api_url, graphql_url=graphql_url, owner=owner
        ) as gh:
            report = await collect(
                gh,
                maps,
                owner=owner,
                repo=repo,
                since=since,
                until=until,
                endpoint=graphql_url,
                progress=progress_printer(sys.stderr),
            )
        return render_html(report) if args.html else render_markdown(report)

    try:
        page = asyncio.run(run())
    except CheckError as error:
        print(f"coi-bot report: {error}", file=sys.stderr)
        return 2
    except gidgethub.GitHubException as error:
        print(f"coi-bot report: GitHub refused: {describe_github_error(error)}", file=sys.stderr)
        return 2
    except (SnapshotError, MapSourceError) as error:
        print(f"coi-bot report: {error}", file=sys.stderr)
        return 2
    if args.html:
        args.html.write_text(page, encoding="utf-8")
        print(f"coi-bot report: wrote {args.html}", file=sys.stderr)
    else:
        sys.stdout.write(page)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coi-bot", description="Conflict-of-interest review for TSC-governed projects."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check affiliation maps; exit 1 on errors")
    validate.add_argument("files", nargs="*", type=Path, metavar="FILE")
    validate.add_argument(
        "--strict", action="store_true", help="exit 1 on warnings too (FILE:LINE:COL: warning: ...)"
    )
    validate.set_defaults(run=_validate)

    schema = commands.add_parser("schema", help="print the map's JSON Schema")
    schema.set_defaults(run=_schema)

    importer = commands.add_parser("import", help="print a map imported from OWNERS.md or gitdm")
    importer.add_argument("format", choices=["owners", "gitdm"])
    importer.add_argument("file", type=Path)
    importer.add_argument(
        "--allow-empty",
        action="store_true",
        help="write the map even when it has no people, or people but no company",
    )
    importer.set_defaults(run=_import)

    serve = commands.add_parser("serve", help="run the GitHub App's webhook server")
    serve.set_defaults(run=_serve)

    demo = commands.add_parser("demo", help="play a review story against the built-in simulator")
    demo.set_defaults(run=_demo)

    check = commands.add_parser(
        "check",
        help="print the verdict the check would show on a PR; writes nothing",
        description="Judge one pull request as the App would, without writing to GitHub.",
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("pull_request", metavar="OWNER/REPO#N")
    check.add_argument("--json", action="store_true", help="print the verdict as JSON")
    check.add_argument(
        "--map", type=Path, metavar="FILE", help="judge with this proposed map instead"
    )
    check.add_argument(
        "--api-url", metavar="URL", help="GitHub's REST URL (Enterprise: https://HOST/api/v3)"
    )
    check.set_defaults(run=_check)

    report = commands.add_parser(
        "report",
        help="report independent review over the PRs merged in a period",
        description="How independent review went over the merged pull requests of a period.",
        epilog=REPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("repository", metavar="OWNER/REPO")
    report.add_argument("--since", metavar="YYYY-MM-DD", help="first day (default: 90 days back)")
    report.add_argument("--until", metavar="YYYY-MM-DD", help="day after the last (default: today)")
    report.add_argument(
        "--html", type=Path, metavar="FILE", help="write one self-contained HTML page with charts"
    )
    report.add_argument("--api-url", metavar="URL", help="GitHub's REST URL, as for check")
    report.set_defaults(run=_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
