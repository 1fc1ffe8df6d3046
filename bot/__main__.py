"""`python -m bot [run|check|generate|provenance|db|ready]`: settings, logging, then the chosen command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

from bot import logs
from bot.audit import export_provenance, parse_since
from bot.check import run_checks
from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.health import ask_ready
from bot.local import generate_to_file
from bot.runtime import serve
from bot.storage import schema


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Easel, the Slack image bot.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot (the default)")
    commands.add_parser("check", help="check the Slack and image-model configuration for real")
    generate = commands.add_parser(
        "generate",
        help="generate without Slack",
        usage='python -m bot generate "prompt" -o out.png [--as NAME] [--size …]',
    )
    generate.add_argument("-o", "--output", type=Path, required=True, help="where to write the image")
    generate.add_argument(
        "--as", dest="user", help="whose limits it counts against (default: the login name); the team is `local`"
    )
    provenance = commands.add_parser("provenance", help="provenance records")
    provenance_commands = provenance.add_subparsers(dest="provenance_command", required=True)
    export = provenance_commands.add_parser("export", help="write the records as JSON Lines")
    export.add_argument("--channel", help="only this channel id (default: every channel)")
    export.add_argument("--since", required=True, help="ISO date or time, e.g. 2026-11-01 (UTC unless given)")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    database = commands.add_parser("db", help="the database schema")
    database_commands = database.add_subparsers(dest="db_command", required=True)
    database_commands.add_parser("upgrade", help="apply the migrations the database lacks")
    database_commands.add_parser("current", help="print the database's revision")
    revision = database_commands.add_parser("revision", help="write a new migration for changes to tables.py")
    revision.add_argument("message", help='what it changes, e.g. "jobs get a priority"')
    commands.add_parser("ready", help="ask the running bot whether it is ready (exit 0) or not (exit 1)")
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "generate":
        parser.error(f"unrecognised arguments: {' '.join(rest)}")

    try:
        settings = load_settings()
        logs.configure(settings)
        if args.command == "check":
            return asyncio.run(_check(settings))
        if args.command == "ready":
            ready, answer = ask_ready(settings)
            print(answer)
            return 0 if ready else 1
        if args.command == "db" and args.db_command == "revision":
            print(schema.new_revision(args.message))
            return 0
        if args.command == "db":
            return _database(settings, args.db_command)
        if args.command == "provenance":
            return _export(settings, args.channel, args.since, args.output)
        if args.command == "generate":
            settings.require_provider()
            return asyncio.run(generate_to_file(settings, " ".join(rest), args.output, user=args.user))
        settings.require_slack()
        settings.require_provider()
        asyncio.run(serve(settings))
        return 0
    except ConfigError as error:
        print(f"easel: {error}", file=sys.stderr)
        return 2


def _export(settings: Settings, channel: str | None, since: str, output: Path | None) -> int:
    try:
        moment = parse_since(since)
    except ValueError:
        print(f"easel: --since must be an ISO date or time such as 2026-11-01, got {since!r}", file=sys.stderr)
        return 2
    with output.open("w", encoding="utf-8") if output else contextlib.nullcontext(sys.stdout) as out:
        count = asyncio.run(export_provenance(settings, channel=channel, since=moment, out=out))
    print(f"{count} records", file=sys.stderr)
    return 0


def _database(settings: Settings, command: str) -> int:
    if command == "upgrade":
        schema.upgrade(settings.database_url)
    revision = schema.current(settings.database_url)
    state = "up to date" if revision == schema.head() else f"this Easel needs {schema.head()}"
    print(f"{revision or 'none'} ({state})")
    return 0


async def _check(settings: Settings) -> int:
    lines: list[str] = []
    ok = await run_checks(settings, out=lines, today=settings.today())
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
