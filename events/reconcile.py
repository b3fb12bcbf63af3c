"""The audit of the ledger: the reconciliation proof and the CSV export.

`reconcile` reads the whole ledger in order and proves, for every member, that each entry's
balance-after is the running sum of that member's entries and that the balance the store answers
is their sum; for every campaign, that each donation's total-after is the running sum of its
donations and that the total the store answers is their sum; and that no balance ever went below
zero. `innotv events reconcile` prints the report; `innotv events export` writes the CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .store import Entry, EventsStore

PAGE = 5000
CSV_COLUMNS = (
    "entry",
    "at",
    "member",
    "kind",
    "amount",
    "balance_after",
    "ref",
    "program",
    "campaign",
    "campaign_total_after",
)


@dataclass
class Report:
    members: int = 0
    entries: int = 0
    campaigns: int = 0
    mileage_outstanding: int = 0
    donated: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [
            f"entries: {self.entries}",
            f"members: {self.members}",
            f"mileage outstanding: {self.mileage_outstanding}",
        ]
        out += [f"campaign {cid}: {total} donated" for cid, total in sorted(self.donated.items())]
        out += [f"PROBLEM: {p}" for p in self.problems[:100]]
        out.append(
            "OK: every balance is the sum of its entries, every campaign total the sum of its donations"
            if self.ok
            else f"FAILED: {len(self.problems)} problem(s)"
        )
        return out


async def all_entries(store: EventsStore) -> AsyncIterator[Entry]:
    after: str | None = None
    while True:
        page = await store.entries(after, PAGE)
        for entry in page:
            yield entry
        if len(page) < PAGE:
            return
        after = page[-1].id


async def reconcile(store: EventsStore) -> Report:
    report = Report()
    balances: dict[str, int] = {}
    totals: dict[str, int] = {}
    async for entry in all_entries(store):
        report.entries += 1
        running = balances.get(entry.member, 0) + entry.amount
        balances[entry.member] = running
        if entry.balance_after != running:
            report.problems.append(f"entry {entry.id}: balance_after {entry.balance_after}, sum {running}")
        if running < 0:
            report.problems.append(f"entry {entry.id}: member {entry.member} below zero ({running})")
        if entry.kind == "donation":
            total = totals.get(entry.campaign, 0) - entry.amount
            totals[entry.campaign] = total
            if entry.campaign_total_after != total:
                report.problems.append(
                    f"entry {entry.id}: campaign total_after {entry.campaign_total_after}, sum {total}"
                )
    state = await store.ledger_state()
    for member in sorted(set(balances) | set(state.balances)):
        stored, summed = state.balances.get(member, 0), balances.get(member, 0)
        if stored != summed:
            report.problems.append(f"member {member}: balance {stored}, sum of entries {summed}")
    for campaign in sorted(set(totals) | set(state.campaign_totals)):
        stored, summed = state.campaign_totals.get(campaign, 0), totals.get(campaign, 0)
        if stored != summed:
            report.problems.append(f"campaign {campaign}: total {stored}, sum of donations {summed}")
    report.members = len(balances)
    report.campaigns = len(totals)
    report.mileage_outstanding = sum(balances.values())
    report.donated = totals
    return report


def csv_header() -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(CSV_COLUMNS)
    return buffer.getvalue()


def csv_rows(entries: list[Entry]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for e in entries:
        at = datetime.fromtimestamp(e.at_ms / 1000, UTC).isoformat(timespec="milliseconds")
        writer.writerow(
            (
                e.id,
                at,
                e.member,
                e.kind,
                e.amount,
                e.balance_after,
                e.ref,
                e.program,
                e.campaign,
                e.campaign_total_after,
            )
        )
    return buffer.getvalue()
