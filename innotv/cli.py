"""The `innotv` command line: serve, user add/list/passwd/role/remove, halls template, lineup
import/export/expo, events reconcile/export/verify-draw.

Each subcommand takes `--data-dir` and `--redis-url` (or `INNOTV_DATA_DIR`, `INNOTV_REDIS_URL`) so
it works on the same store as the server. Errors print one clear line and exit non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import accounts
from events import cli as events_cli
from events.store import make_events_store
from kernel.core import Kernel, build_kernel
from kernel.errors import ApiError
from kernel.identity import ROLES
from kernel.logs import setup_logging

from . import __version__
from .config import Config, ConfigError, load_config


def _store_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="where the embedded store and media live (./data)")
    parser.add_argument("--redis-url", help="run on a shared Redis, e.g. redis://host:6379/0")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="innotv", description="Innovation TV live server")
    parser.add_argument("--version", action="version", version=f"innotv {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (8080)")
    serve.add_argument("--demo", action="store_true", default=None,
                       help="load the expo lineup and play a generated test broadcast")
    serve.add_argument("--public-url", help="the address people open, for printed links")
    serve.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR")
    _store_flags(serve)

    user = sub.add_parser("user", help="manage accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create a host, producer or captioner account")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=list(ROLES))
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input instead of a prompt")
    _store_flags(add)
    listing = user_sub.add_parser("list", help="list the accounts")
    _store_flags(listing)
    passwd = user_sub.add_parser("passwd", help="set a new password (ends that account's sessions)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input instead of a prompt")
    _store_flags(passwd)
    role = user_sub.add_parser("role", help="change an account's role (ends its sessions)")
    role.add_argument("name")
    role.add_argument("role", choices=list(ROLES))
    _store_flags(role)
    remove = user_sub.add_parser("remove", help="remove an account (ends its sessions)")
    remove.add_argument("name")
    _store_flags(remove)

    halls = sub.add_parser("halls", help="the exhibition halls")
    halls_sub = halls.add_subparsers(dest="halls_command", required=True)
    halls_sub.add_parser("template", help="print the halls' cases as a file to edit "
                                          "(then set INNOTV_CHAT_HALLS_FILE to it)")

    lineup = sub.add_parser("lineup", help="the program lineup")
    lineup_sub = lineup.add_subparsers(dest="lineup_command", required=True)
    imp = lineup_sub.add_parser("import", help="import a lineup JSON file (all or nothing)")
    imp.add_argument("file")
    _store_flags(imp)
    exp = lineup_sub.add_parser("export", help="print the lineup as JSON")
    _store_flags(exp)
    expo = lineup_sub.add_parser("expo", help="load the expo's ten days")
    expo.add_argument("--year", type=int, default=2026,
                      help="the edition's year (2026; 2020 for the original dates)")
    _store_flags(expo)
    events_cli.add_commands(sub, _store_flags)
    return parser


@asynccontextmanager
async def opened(config: Config) -> AsyncIterator[tuple[Kernel, accounts.Auth]]:
    """The kernel and accounts, opened on the configured store, for a one-shot command."""
    kernel = build_kernel(config.core)
    auth = accounts.build(kernel, config.accounts)
    await kernel.open()
    try:
        await auth.start()
        yield kernel, auth
    finally:
        await kernel.close()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ApiError(400, "password_mismatch", "The two passwords differ.")
    return first


async def _user(config: Config, args: argparse.Namespace) -> int:
    """`innotv user add|list|passwd|role|remove`: the same rules as the producer desk's page."""
    command = args.user_command
    password = _read_password(args.password_stdin) if command in ("add", "passwd") else ""
    async with opened(config) as (_kernel, auth):
        if command == "add":
            account = await auth.add_user(args.name, args.role, password)
            print(f"created {account.role} {account.username}")
        elif command == "list":
            for account in await auth.list_users():
                print(f"{account.username}\t{account.role}\t{account.created_at}")
        elif command == "passwd":
            await auth.set_password(args.name, password)
            print(f"new password for {args.name}; its sessions ended")
        elif command == "role":
            account = await auth.set_role(args.name, args.role)
            print(f"{account.username} is now a {account.role}; its sessions ended")
        else:
            await auth.remove_user(args.name)
            print(f"removed {args.name}; its sessions ended")
    return 0


def _halls_template(config: Config) -> int:
    """The halls' cases as `chat_halls_file` reads them: the operator's file when one is set,
    else the placeholders, ready to edit."""
    from pathlib import Path

    from chat.hall_cases import load_cases, template
    from chat.halls import HALLS, hall_cases

    operator = load_cases(Path(config.chat.halls_file), set(HALLS)) if config.chat.halls_file else {}
    sys.stdout.write(template(hall_cases(operator)))
    return 0


async def _lineup(config: Config, args: argparse.Namespace) -> int:
    import schedule  # imported here so that `innotv user add` does not load the media stack

    async with opened(config) as (kernel, auth):
        return await schedule.run_lineup_command(kernel, auth, args)


async def _events(config: Config, args: argparse.Namespace) -> int:
    kernel = build_kernel(config.core)
    await kernel.open()
    try:
        return await events_cli.run_store_command(make_events_store(kernel.backend), args)
    finally:
        await kernel.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {
        key: getattr(args, key, None)
        for key in ("host", "port", "demo", "public_url", "log_level", "data_dir", "redis_url")
    }
    try:
        config = load_config(overrides)
    except ConfigError as exc:
        print(f"innotv: {exc}", file=sys.stderr)
        return 2
    setup_logging(config.core.log_level, config.core.log_format)
    try:
        if args.command == "serve":
            from .server import run

            return run(config)
        if args.command == "user":
            return asyncio.run(_user(config, args))
        if args.command == "halls":
            return _halls_template(config)
        if args.command == "events":
            if args.events_command == "verify-draw":
                return events_cli.verify_draw(args.file)
            return asyncio.run(_events(config, args))
        return asyncio.run(_lineup(config, args))
    except ApiError as err:
        print(f"innotv: {err.message}", file=sys.stderr)
        return 1
    except (OSError, ConnectionError) as exc:
        print(f"innotv: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
