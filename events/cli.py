"""`innotv events reconcile | export | verify-draw`: the audit commands.

- `reconcile` proves, on the configured store, that every balance is the sum of its entries and
  every campaign total the sum of its donations (exit 1 and the problems when not).
- `export [--output FILE]` writes the whole ledger as CSV (stdout by default).
- `verify-draw FILE` needs no store: it reads a draw's published proof (the JSON of
  `GET /api/events/draws/{id}/proof`) and recomputes the pool's hash, the seed's commitment and
  the winners and backups, and says whether each matches what was published.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from . import fairdraw
from .reconcile import all_entries, csv_header, csv_rows, reconcile
from .store import EventsStore


def add_commands(sub: Any, store_flags: Any) -> None:
    events = sub.add_parser("events", help="today's event: the ledger's audit and prize draws")
    events_sub = events.add_subparsers(dest="events_command", required=True)
    check = events_sub.add_parser("reconcile", help="prove every balance and campaign total from the ledger")
    store_flags(check)
    export = events_sub.add_parser("export", help="write the ledger as CSV")
    export.add_argument("--output", help="a file to write (default: standard output)")
    store_flags(export)
    verify = events_sub.add_parser("verify-draw", help="recompute a draw's winners from its published proof")
    verify.add_argument("file", help="the JSON of GET /api/events/draws/{id}/proof")


async def run_store_command(store: EventsStore, args: argparse.Namespace) -> int:
    await store.setup()
    if args.events_command == "reconcile":
        report = await reconcile(store)
        for line in report.lines():
            print(line)
        return 0 if report.ok else 1
    out: TextIO = sys.stdout
    if args.output:
        out = await asyncio.to_thread(Path(args.output).open, "w", encoding="utf-8", newline="")
    try:
        out.write(csv_header())
        batch = []
        async for entry in all_entries(store):
            batch.append(entry)
            if len(batch) >= 5000:
                out.write(csv_rows(batch))
                batch = []
        out.write(csv_rows(batch))
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def verify_draw(path: str) -> int:
    try:
        proof: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = [str(e) for e in proof["entries"]]
        checks = verify(proof, entries)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"innotv: cannot read the proof: {exc}", file=sys.stderr)
        return 2
    for name, ok in checks.items():
        print(f"{'OK  ' if ok else 'FAIL'} {name}")
    if "seed" in proof:
        picked = fairdraw.pick(
            proof["seed"], entries, int(proof["winners_wanted"]) + int(proof["backups_wanted"])
        )
        for rank, entry in enumerate(picked, start=1):
            role = "winner" if rank <= int(proof["winners_wanted"]) else "backup"
            print(f"{rank}\t{role}\t{entry}")
    return 0 if all(checks.values()) else 1


def verify(proof: dict[str, Any], entries: list[str]) -> dict[str, bool]:
    """Each published fact of the draw, recomputed: name -> whether it matches."""
    checks = {
        "pool hash": fairdraw.pool_hash(entries) == proof["pool_hash"],
        "pool size": len(set(entries)) == int(proof["pool_size"]),
    }
    if "seed" not in proof:
        return checks  # not drawn yet: the seed is still secret
    checks["seed matches the commitment"] = fairdraw.commitment(proof["seed"]) == proof["commitment"]
    picked = fairdraw.pick(
        proof["seed"], entries, int(proof["winners_wanted"]) + int(proof["backups_wanted"])
    )
    wanted = int(proof["winners_wanted"])
    checks["winners"] = picked[:wanted] == list(proof["winner_entries"])
    checks["backups"] = picked[wanted:] == list(proof["backup_entries"])
    return checks
