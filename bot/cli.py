"""`coi-bot`: the command line. Each subcommand is a thin shell over a library function."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeAlias

DEFAULT_MAP = Path("config/affiliations.yml")
# What add_subparsers returns; argparse names the class privately, so quote it for runtime.
_Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


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
            if result.errors_omitted:
                print(f"... and {result.errors_omitted} more", file=sys.stderr)
            print(f"{path}: {result.error_count} error(s)", file=sys.stderr)
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

    text = _read_text(args.file)
    if text is None:
        return 2
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


def _read_text(path: Path) -> str | None:
    """The file's text, or None after printing `FILE: cannot read: why` to stderr."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        why = error.strerror or str(error)
    except UnicodeDecodeError as error:
        why = f"not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})"
    print(f"{path}: cannot read: {why}", file=sys.stderr)
    return None


def _serve(args: argparse.Namespace) -> int:
    from bot.web.server import StartupRefused, preflight, serve

    try:
        startup = preflight()
    except StartupRefused as refused:
        for line in refused.lines(prefix="coi-bot serve: "):
            print(line, file=sys.stderr)
        return 2
    serve(startup.settings, people=startup.people)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(serve=args.serve)


CHECK_EPILOG = """\
credentials: GITHUB_TOKEN (any token that can read the repository), or the App's
GITHUB_APP_ID with GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_FILE (the installation on OWNER
is found through GET /app/installations). COI_MAP_PATH and COI_MAP name the maps as for serve;
GITHUB_API_URL and GITHUB_GRAPHQL_URL name GitHub when --api-url is not given.

exit status: 0 the check would pass (success); 1 it would not (action_required, neutral,
failure, or in_progress: a major change waiting for an approval), or the --map file is
invalid; 2 nothing could be judged (arguments, credentials, GitHub's answer). Nothing is ever
written to GitHub.
"""


def _github_urls(api_url: str | None) -> tuple[str, str]:
    """REST and GraphQL URLs: --api-url wins, then GITHUB_API_URL / GITHUB_GRAPHQL_URL."""
    import os

    from bot.dryrun import CheckError
    from bot.settings import DEFAULT_API_URL, SettingsError, check_http_url, graphql_url_for

    if api_url:
        base = api_url.rstrip("/")
        return base, graphql_url_for(base)
    base = os.environ.get("GITHUB_API_URL", DEFAULT_API_URL).rstrip("/")
    graphql = os.environ.get("GITHUB_GRAPHQL_URL") or graphql_url_for(base)
    try:
        check_http_url("GITHUB_API_URL", base)
        check_http_url("GITHUB_GRAPHQL_URL", graphql)
    except SettingsError as error:
        raise CheckError(str(error)) from None
    return base, graphql


def _api_url(text: str) -> str:
    """argparse type of --api-url: an http(s) URL with a host."""
    from bot.settings import SettingsError, check_http_url

    try:
        return check_http_url("--api-url", text.strip())
    except SettingsError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("--api-url ")) from None


def _quiet_client_logs() -> None:
    """The commands print their own one-line errors; the client's retry logs would repeat them."""
    import logging

    root = logging.getLogger()
    if not any(isinstance(handler, logging.NullHandler) for handler in root.handlers):
        root.addHandler(logging.NullHandler())


def _check(args: argparse.Namespace) -> int:
    import asyncio
    import os

    from bot.dryrun import CheckError, ProposedMapInvalid, check_command, load_proposed

    _quiet_client_logs()
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

environment: GITHUB_TOKEN, or GITHUB_APP_ID with GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_FILE;
GITHUB_API_URL and GITHUB_GRAPHQL_URL (unless --api-url); COI_MAP_PATH and COI_MAP as for serve.

exit status: 0 the report was written; 2 it could not be (arguments, credentials, GitHub).
"""


def _report(args: argparse.Namespace) -> int:
    import asyncio
    import os
    from datetime import UTC, datetime, timedelta

    import aiohttp
    import gidgethub

    from bot.dryrun import CheckError, Credentials, connect_app, parse_repository
    from bot.github.auth import AuthError
    from bot.github.errors import describe_failure
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
        api_url, graphql_url = _github_urls(args.api_url)
    except (CheckError, ValueError) as error:
        print(f"coi-bot report: {error}", file=sys.stderr)
        return 2
    _quiet_client_logs()
    maps = MapSource(
        map_path=os.environ.get("COI_MAP_PATH", ".github/affiliations.yml"),
        bundled_map=Path(os.environ.get("COI_MAP", str(DEFAULT_MAP))),
    )

    async def run() -> str:
        async with connect_app(
            credentials, api_url=api_url, graphql_url=graphql_url, owner=owner
        ) as (gh, app_id):
            if app_id is None:
                raise CheckError(
                    "only the App's own check runs count, found by its numeric id: set "
                    "GITHUB_APP_ID to it beside GITHUB_TOKEN, or use the App's key"
                )
            report = await collect(
                gh,
                maps,
                owner=owner,
                repo=repo,
                since=since,
                until=until,
                endpoint=graphql_url,
                progress=progress_printer(sys.stderr),
                app_id=app_id,
            )
        return render_html(report) if args.html else render_markdown(report)

    try:
        page = asyncio.run(run())
    except CheckError as error:
        print(f"coi-bot report: {error}", file=sys.stderr)
        return 2
    except (gidgethub.GitHubException, aiohttp.ClientError, TimeoutError) as error:
        print(f"coi-bot report: {describe_failure(error, api_url=api_url)}", file=sys.stderr)
        return 2
    except (SnapshotError, MapSourceError, AuthError) as error:
        print(f"coi-bot report: {error}", file=sys.stderr)
        return 2
    if args.html:
        args.html.write_text(page, encoding="utf-8")
        print(f"coi-bot report: wrote {args.html}", file=sys.stderr)
    else:
        sys.stdout.write(page)
    return 0


AUDIT_EPILOG = """\
Reads who has write, maintain or admin access (collaborators, affiliation=all), the profiles
(company, public organizations) of the map's people and of those with access, and the commit
emails of the pull requests updated in the last --since DAYS (default 90); checks them against
the map at the default branch (or --map FILE). With --history, also every change of the map and
of the protected files in the period (their last 30 changes each): the commit, how it landed (a
PR whose check passed, with the approvals' companies; a direct push; a merge over the check) and
what changed in the map; an unreviewed change is an error. Nothing is written to GitHub.

environment: GITHUB_TOKEN, or GITHUB_APP_ID with GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_FILE;
GITHUB_API_URL and GITHUB_GRAPHQL_URL (unless --api-url); COI_MAP_PATH and COI_MAP as for serve.

exit status: 0 no finding above info; 1 errors or warnings found; 2 the audit could not run
(arguments, credentials, GitHub's answer, an invalid map).
"""


def _audit(args: argparse.Namespace) -> int:
    import asyncio
    import os

    from bot.audit import AuditMapInvalid, audit_command
    from bot.dryrun import CheckError

    _quiet_client_logs()
    try:
        return asyncio.run(
            audit_command(
                args.repository,
                urls=_github_urls(args.api_url),
                since_days=args.since,
                map_file=args.map,
                as_json=args.json,
                suggest=args.suggest,
                map_path=os.environ.get("COI_MAP_PATH", ".github/affiliations.yml"),
                bundled_map=Path(os.environ.get("COI_MAP", str(DEFAULT_MAP))),
                history=args.history,
            )
        )
    except AuditMapInvalid as invalid:
        for map_error in invalid.errors:
            print(map_error, file=sys.stderr)
        print(f"coi-bot audit: {invalid}", file=sys.stderr)
        return 2
    except CheckError as error:
        print(f"coi-bot audit: {error}", file=sys.stderr)
        return 2


def _days(text: str) -> int:
    """argparse type of --since: a whole number of days, 1 or more."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days (1 or more)")
    return int(text)


VALIDATE_EPILOG = """\
Every error of every file is printed as FILE:LINE:COL: message. Without FILE, reads
config/affiliations.yml. Reads no environment variables.

exit status: 0 every map is valid; 1 a map has errors or cannot be read.
"""

SCHEMA_EPILOG = """\
Reads no environment variables.

exit status: 0 the schema was printed.
"""

IMPORT_EPILOG = """\
owners: a StackStorm-style OWNERS.md; gitdm: a cncf/gitdm developers_affiliations file.
The map is printed on stdout, to be reviewed and committed. Reads no environment variables.

exit status: 0 the map was printed; 1 FILE has lines that cannot be imported (each printed as
FILE:LINE: message); 2 FILE cannot be read.
"""

SERVE_EPILOG = """\
Every variable is checked before the port opens: an unusable App key, a missing or invalid
COI_MAP, or a bad number stops the server with one line per problem.

environment:
  GITHUB_APP_ID                the App's id (or client id); required
  GITHUB_PRIVATE_KEY           the App's RSA private key, PEM text; or
  GITHUB_PRIVATE_KEY_FILE      a file holding it (set one of the two, not both); required
  GITHUB_WEBHOOK_SECRET        the webhook secret; required
  GITHUB_API_URL               REST API root (default https://api.github.com;
                               GitHub Enterprise Server: https://HOST/api/v3)
  GITHUB_GRAPHQL_URL           GraphQL endpoint (default: derived from GITHUB_API_URL)
  HOST, PORT                   where to listen (default 0.0.0.0 and 8080; PORT 1-65535)
  COI_MAP                      the bundled map (default config/affiliations.yml)
  COI_MAP_PATH                 where a repository keeps its map (default .github/affiliations.yml)
  COI_WORKERS                  concurrent evaluations (default 8)
  COI_QUEUE_SIZE               pending PRs before webhooks get 503 (default 10000)
  COI_INBOX_SIZE               acknowledged deliveries waiting to be routed (default 1000)
  COI_UNVERIFIED_MIB           MiB of webhook bodies not yet verified, together, before 503
                               (default 64)
  COI_RECONCILE_MINUTES        how often open PRs are checked for a missing check (default 10)
  COI_RECONCILE_MAX_PER_CYCLE  PRs repaired at most per cycle (default 500)
  COI_REDELIVER_MINUTES        how often failed deliveries are asked again (default 5)
  COI_REDELIVER_MAX_PER_CYCLE  deliveries asked again at most per cycle (default 100)
  COI_RATE_LIMIT_FLOOR         background work pauses below this many API calls (default 500)
  REDIS_URL                    optional; needed for more than one replica

exit status: 0 stopped by SIGTERM or SIGINT; 2 refused to start (the configuration).
"""

DEMO_EPILOG = """\
Runs the bot and a GitHub simulator on 127.0.0.1 and narrates a review story with the
bundled map. Needs no configuration and reaches no network. With --serve, keeps both running
afterwards and prints the GITHUB_TOKEN, --api-url and commands to try check and report on them.

exit status: 0 the story played as expected; 1 it did not, or the bundled map is invalid.
"""


def _explained(description: str, epilog: str) -> dict[str, Any]:
    """A subcommand's --help: what it does, then its environment and exit statuses verbatim."""
    return {
        "description": description,
        "epilog": epilog,
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def _add_validate(subcommands: _Subcommands) -> None:
    validate = subcommands.add_parser(
        "validate",
        help="check affiliation maps; exit 1 on errors",
        **_explained("Check affiliation maps against the schema and each other.", VALIDATE_EPILOG),
    )
    validate.add_argument("files", nargs="*", type=Path, metavar="FILE")
    validate.add_argument(
        "--strict", action="store_true", help="exit 1 on warnings too (FILE:LINE:COL: warning: ...)"
    )
    validate.set_defaults(run=_validate)


def _add_schema(subcommands: _Subcommands) -> None:
    schema = subcommands.add_parser(
        "schema",
        help="print the map's JSON Schema",
        **_explained("Print the JSON Schema of affiliation maps (for editors).", SCHEMA_EPILOG),
    )
    schema.set_defaults(run=_schema)


def _add_import(subcommands: _Subcommands) -> None:
    importer = subcommands.add_parser(
        "import",
        help="print a map imported from OWNERS.md or gitdm",
        **_explained("Print an affiliation map built from another format.", IMPORT_EPILOG),
    )
    importer.add_argument("format", choices=["owners", "gitdm"])
    importer.add_argument("file", type=Path)
    importer.add_argument(
        "--allow-empty",
        action="store_true",
        help="write the map even when it has no people, or people but no company",
    )
    importer.set_defaults(run=_import)


def _add_serve(subcommands: _Subcommands) -> None:
    serve = subcommands.add_parser(
        "serve",
        help="run the GitHub App's webhook server",
        **_explained("Run the GitHub App: its webhook, /healthz and /metrics.", SERVE_EPILOG),
    )
    serve.set_defaults(run=_serve)


def _add_demo(subcommands: _Subcommands) -> None:
    demo = subcommands.add_parser(
        "demo",
        help="play a review story against the built-in simulator",
        **_explained("Play a review story against the built-in GitHub simulator.", DEMO_EPILOG),
    )
    demo.add_argument(
        "--serve",
        action="store_true",
        help="after the story, keep the simulator running and print how to point check and "
        "report at it, until Ctrl-C",
    )
    demo.set_defaults(run=_demo)


def _add_check(subcommands: _Subcommands) -> None:
    check = subcommands.add_parser(
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
        "--api-url",
        type=_api_url,
        metavar="URL",
        help="GitHub's REST URL (Enterprise: https://HOST/api/v3)",
    )
    check.set_defaults(run=_check)


def _add_report(subcommands: _Subcommands) -> None:
    report = subcommands.add_parser(
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
    report.add_argument(
        "--api-url", type=_api_url, metavar="URL", help="GitHub's REST URL, as for check"
    )
    report.set_defaults(run=_report)


def _add_audit(subcommands: _Subcommands) -> None:
    auditor = subcommands.add_parser(
        "audit",
        help="check who can write, and what GitHub shows about people, against the map",
        **_explained(
            "Find people with write access outside the TSC or the map, and map entries that"
            " GitHub contradicts.",
            AUDIT_EPILOG,
        ),
    )
    auditor.add_argument("repository", metavar="OWNER/REPO")
    auditor.add_argument(
        "--since", type=_days, default=90, metavar="DAYS", help="PRs updated in these last days"
    )
    auditor.add_argument("--json", action="store_true", help="print the findings as JSON")
    auditor.add_argument(
        "--suggest", action="store_true", help="show each fix as a diff of the map file"
    )
    auditor.add_argument("--map", type=Path, metavar="FILE", help="audit this map file instead")
    auditor.add_argument(
        "--history",
        action="store_true",
        help="also how every change of the map and the protected files landed (in --since)",
    )
    auditor.add_argument(
        "--api-url", type=_api_url, metavar="URL", help="GitHub's REST URL, as for check"
    )
    auditor.set_defaults(run=_audit)


def build_parser() -> argparse.ArgumentParser:
    from bot.version import installed_version

    parser = argparse.ArgumentParser(
        prog="coi-bot", description="Conflict-of-interest review for TSC-governed projects."
    )
    parser.add_argument("--version", action="version", version=f"coi-bot {installed_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_subcommand in (
        _add_validate,
        _add_schema,
        _add_import,
        _add_serve,
        _add_demo,
        _add_check,
        _add_report,
        _add_audit,
    ):
        add_subcommand(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
