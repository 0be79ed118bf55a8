"""`coi-bot`: the command line. Each subcommand is a thin shell over a library function."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_MAP = Path("config/affiliations.yml")


def _validate(args: argparse.Namespace) -> int:
    from bot.affiliations.loader import load_map_file

    status = 0
    for path in args.files or [DEFAULT_MAP]:
        result = load_map_file(path)
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
    return status


def _schema(args: argparse.Namespace) -> int:
    from bot.affiliations.schema import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def _import(args: argparse.Namespace) -> int:
    from bot.affiliations.importers import ImportFormatError, dump_map, import_gitdm, import_owners

    text = Path(args.file).read_text(encoding="utf-8")
    try:
        document = import_owners(text) if args.format == "owners" else import_gitdm(text)
    except ImportFormatError as error:
        for problem in error.problems:
            print(f"{args.file}:{problem.line}: {problem.message}", file=sys.stderr)
        print(f"{args.file}: {len(error.problems)} error(s)", file=sys.stderr)
        return 1
    sys.stdout.write(dump_map(document))
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coi-bot", description="Conflict-of-interest review for TSC-governed projects."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check affiliation maps; exit 1 on errors")
    validate.add_argument("files", nargs="*", type=Path, metavar="FILE")
    validate.set_defaults(run=_validate)

    schema = commands.add_parser("schema", help="print the map's JSON Schema")
    schema.set_defaults(run=_schema)

    importer = commands.add_parser("import", help="print a map imported from OWNERS.md or gitdm")
    importer.add_argument("format", choices=["owners", "gitdm"])
    importer.add_argument("file", type=Path)
    importer.set_defaults(run=_import)

    serve = commands.add_parser("serve", help="run the GitHub App's webhook server")
    serve.set_defaults(run=_serve)

    demo = commands.add_parser("demo", help="play a review story against the built-in simulator")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
