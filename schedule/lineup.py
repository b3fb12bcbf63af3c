"""`innotv lineup import|export|expo`: the lineup as a JSON file, validated, all or nothing.

The file is what `export` prints: `{"programs": [program, ...]}`. On import a program keeps its
`id` when it has one (re-importing updates instead of duplicating) and gets a new id otherwise;
`state` and `version` are accepted and ignored. Every program is checked (fields, hosts, times,
overlaps among the file's programs and with the stored ones) before anything is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from kernel.errors import ApiError
from kernel.untrusted_json import UntrustedJsonError, loads_untrusted

from .expo import expo_lineup
from .model import Program, new_program_id
from .service import ProgramService
from .validation import parse_import_item

MAX_FILE_BYTES = 5 * 1024 * 1024


class LineupFileError(Exception):
    """The file cannot be imported; the message is one line for the console."""


def parse_lineup(raw: bytes, source: str) -> list[Program]:
    try:
        data: Any = loads_untrusted(raw)
    except UntrustedJsonError as exc:
        raise LineupFileError(f"{source}: not valid JSON (UTF-8): {exc.reason}") from None
    return parse_lineup_data(data, source)


def parse_lineup_data(data: Any, source: str, now: datetime | None = None) -> list[Program]:
    """The programs of a decoded lineup document, each checked; LineupFileError names the bad one.
    With `now`, a program's `starts_at` may be "now"."""
    if not isinstance(data, dict) or not isinstance(data.get("programs"), list):
        raise LineupFileError(f'{source}: expected a JSON object {{"programs": [...]}}')
    extra = sorted(set(data) - {"programs"})
    if extra:
        raise LineupFileError(f"{source}: unknown field {extra[0]!r} at the top level")
    programs: list[Program] = []
    for index, item in enumerate(data["programs"], start=1):
        try:
            programs.append(parse_import_item(item, new_program_id(), now))
        except ApiError as err:
            label = f"program {index}"
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                label += f" (id {item['id'][:64]!r})"
            raise LineupFileError(f"{source}: {label}: {err.message}") from None
    return programs


def read_lineup_file(path: str) -> list[Program]:
    file = Path(path)
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            raise LineupFileError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        raw = file.read_bytes()
    except OSError as exc:
        raise LineupFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return parse_lineup(raw, path)


def export_json(programs: list[Program]) -> str:
    return json.dumps({"programs": [p.public() for p in programs]}, ensure_ascii=False, indent=2)


def _write(stream: TextIO, text: str) -> None:
    # UTF-8 whatever the console's locale says: Korean titles must survive a pipe.
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        buffer.write(text.encode("utf-8"))
        buffer.flush()
    else:
        stream.write(text)


def _summary(what: str, total: int, created: int, updated: int) -> str:
    return f"{what}: {total} programs ({created} created, {updated} updated, " \
           f"{total - created - updated} unchanged)\n"


async def run(service: ProgramService, args: argparse.Namespace) -> int:
    command = args.lineup_command
    try:
        if command == "export":
            _write(sys.stdout, export_json(await service.list_programs()) + "\n")
            return 0
        if command == "expo":
            year = int(args.year)
            if not 2000 <= year <= 2100:
                raise LineupFileError(f"--year {year}: choose a year between 2000 and 2100")
            programs = expo_lineup(year)
            changes = await service.save_many(programs, "missing")
            what = f"expo {year}"
        elif command == "import":
            programs = read_lineup_file(args.file)
            changes = await service.save_many(programs, "replace")
            what = f"imported {args.file}"
        else:
            raise LineupFileError(f"unknown lineup command {command!r}")
    except LineupFileError as exc:
        print(f"innotv: {exc}", file=sys.stderr)
        return 1
    except ApiError as err:
        print(f"innotv: {err.message}", file=sys.stderr)
        return 1
    created = sum(1 for c in changes if c.action == "created")
    updated = len(changes) - created
    _write(sys.stdout, _summary(what, len(programs), created, updated))
    return 0
