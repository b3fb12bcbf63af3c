"""The events slice's storage, one contract and two backends (`store_sqlite`, `store_redis`).

The mileage ledger is append-only: every earning, donation and closing is one entry, and an
entry is never changed or removed. Each entry carries the member's balance after it (and, for a
donation, the campaign's total after it), so a balance is read from the member's newest entry
and the reconciliation (`events.reconcile`) proves every chain against the sum of its entries.
Each write to the ledger is one atomic step in the store (a SQLite transaction, a Redis script):
exact under any number of processes and across a crash.

Besides the ledger: members (viewer accounts) and their sessions, the link from a chat viewer id
to a member, small expiring values (`kv_*`: sign-in states, watch tokens, the signing secret,
rate-limit counters), campaigns, earning rules per program, quizzes and their answers, who
commented where and when (for draw pools), prize draws and the winners' contact details.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kernel.storage import Backend


@dataclass(frozen=True)
class Member:
    id: str
    nickname: str
    email: str | None  # lower-cased; None for a member who signed in with OIDC only
    password_hash: str | None
    issuer: str | None  # OIDC issuer and subject, for a member who signed in with OIDC
    subject: str | None
    consent_version: str
    consented_at_ms: int
    created_at_ms: int


@dataclass(frozen=True)
class Entry:
    """One line of the ledger."""

    id: str  # its place in the ledger: a SQLite row number or a Redis stream id
    member: str
    amount: int  # > 0 earned; < 0 donated or forfeited
    kind: str  # watch | vote | question | quiz | comment | chat | donation | closed
    ref: str  # what it is for: a poll, question, quiz, message or campaign id
    program: str  # the program whose rules applied ('' when none)
    campaign: str  # the campaign of a donation ('' otherwise)
    at_ms: int
    balance_after: int
    campaign_total_after: int  # the campaign's total after a donation (0 otherwise)


@dataclass(frozen=True)
class Credit:
    """An earning to append, trimmed to what the caps leave."""

    member: str
    amount: int
    kind: str
    ref: str
    program: str
    at_ms: int
    day: str  # the member's day (Asia/Seoul) the daily cap counts in
    daily_cap: int
    program_cap: int | None  # cap on this kind for this member and program, if any
    key: str  # idempotency key: a second credit with the same key appends nothing
    # An earning rate limit counted in the same step: at most `rate_limit` credits (tries) under
    # `rate_key` per minute (the counter `hit` keeps); 0: none.
    rate_key: str = ""
    rate_limit: int = 0


@dataclass(frozen=True)
class CreditResult:
    earned: int  # 0 when capped or a duplicate
    balance: int
    entry_id: str | None
    duplicate: bool
    limited: bool = False  # refused by the rate limit: nothing appended


@dataclass(frozen=True)
class DonationResult:
    refused: str | None  # "insufficient_mileage" | "nothing_to_donate" | "unknown_campaign"
    amount: int
    balance: int
    campaign_total: int
    donors: int
    entry_id: str | None
    duplicate: bool


@dataclass(frozen=True)
class Campaign:
    id: str
    title: str
    beneficiary: str
    goal: int
    starts_at_ms: int
    ends_at_ms: int
    created_at_ms: int


@dataclass(frozen=True)
class Quiz:
    id: str
    program: str
    question: str
    choices: tuple[str, ...]
    answer: int  # the index of the correct choice: never sent before the reveal
    opens_ms: int
    closes_ms: int
    revealed: bool


@dataclass(frozen=True)
class Draw:
    id: str
    program: str
    title: str
    pool: str  # the pool's definition, as JSON
    winners_wanted: int
    backups_wanted: int
    pool_size: int
    pool_hash: str
    commitment: str  # sha256 of the seed, published before the draw
    seed: str  # hex; published only once drawn
    created_ms: int
    claim_days: int
    drawn_ms: int = 0  # 0 until drawn
    winners: tuple[str, ...] = ()
    backups: tuple[str, ...] = ()

    @property
    def drawn(self) -> bool:
        return self.drawn_ms > 0

    @property
    def claim_until_ms(self) -> int:
        return self.drawn_ms + self.claim_days * 86_400_000 if self.drawn else 0


@dataclass(frozen=True)
class Claim:
    draw: str
    member: str
    contact: str  # JSON {name, phone}: personal data, deleted after the claim period
    consented_at_ms: int
    expires_ms: int


@dataclass(frozen=True)
class LedgerState:
    """What the store keeps besides the entries, for the reconciliation to check them against:
    each member's balance and each campaign's total as the store would answer them."""

    balances: dict[str, int]
    campaign_totals: dict[str, int]


class EventsStore(Protocol):
    async def setup(self) -> None: ...

    # ---- small expiring values --------------------------------------------------------------
    async def kv_set_if_absent(self, key: str, value: str) -> str:
        """Keep `value` under `key` unless one is kept already; the value kept now."""

    async def kv_put(self, key: str, value: str, ttl_s: int) -> None: ...

    async def kv_get(self, key: str) -> str | None: ...

    async def kv_take(self, key: str) -> str | None:
        """Read and delete `key` in one step (one-time values)."""

    async def kv_swap(self, key: str, expected: str | None, value: str, ttl_s: int) -> bool:
        """Set `key` to `value` if it holds `expected` now (None: absent); False otherwise."""

    async def hit(self, key: str, window_s: int) -> int:
        """Add one to the counter `key` (a window of `window_s` starts with its first hit); the
        count now."""

    # ---- members ----------------------------------------------------------------------------
    async def create_member(self, member: Member) -> str | None:
        """Store a new member; None, or what is taken: "email" | "subject"."""

    async def get_member(self, member_id: str) -> Member | None: ...

    async def member_by_email(self, email: str) -> Member | None: ...

    async def member_by_subject(self, issuer: str, subject: str) -> Member | None: ...

    async def erase_member(self, member_id: str) -> bool:
        """Delete the member's personal data: the account, its sessions, viewer links and
        contact details. The ledger keeps its entries under the (now meaningless) id."""

    async def create_session(self, session_hash: str, member_id: str, expires_ms: int) -> None: ...

    async def session_member(self, session_hash: str, now_ms: int) -> str | None: ...

    async def delete_session(self, session_hash: str) -> None: ...

    async def link_viewer(self, viewer: str, member_id: str, expires_ms: int) -> None:
        """From now on the chat viewer id `viewer` earns for `member_id`."""

    async def unlink_viewer(self, viewer: str) -> None: ...

    async def member_of_viewer(self, viewer: str, now_ms: int) -> str | None: ...

    # ---- the ledger ---------------------------------------------------------------------------
    async def credit(self, credit: Credit) -> CreditResult: ...

    async def donate(
        self, member: str, campaign: str, amount: int | None, key: str, at_ms: int
    ) -> DonationResult:
        """Move `amount` (None: the whole balance) from the member to the campaign, if the
        balance holds it."""

    async def close_balance(self, member: str, at_ms: int) -> int:
        """Append an entry that takes the member's balance to 0 (account deleted); the amount."""

    async def balance(self, member: str) -> int: ...

    async def earned_on(self, member: str, day: str) -> int:
        """What the member earned on `day` (what the daily cap counts)."""

    async def history(self, member: str, limit: int, before: str | None = None) -> list[Entry]:
        """The member's entries, newest first; `before`: older than that entry id."""

    async def entries(self, after: str | None, limit: int) -> list[Entry]:
        """The whole ledger in order, a page at a time (export and reconciliation)."""

    async def ledger_state(self) -> LedgerState: ...

    # ---- campaigns ----------------------------------------------------------------------------
    async def create_campaign(self, campaign: Campaign) -> None: ...

    async def get_campaign(self, campaign_id: str) -> Campaign | None: ...

    async def list_campaigns(self) -> list[Campaign]: ...

    async def campaign_total(self, campaign_id: str) -> tuple[int, int]:
        """(total donated, number of donors)."""

    async def donors(self, campaign_id: str) -> list[str]: ...

    # ---- rules --------------------------------------------------------------------------------
    async def set_rules(self, program: str, rules: str) -> None: ...

    async def get_rules(self, program: str) -> str | None: ...

    # ---- quizzes ------------------------------------------------------------------------------
    async def create_quiz(self, quiz: Quiz) -> None: ...

    async def get_quiz(self, quiz_id: str) -> Quiz | None: ...

    async def latest_quiz(self, program: str) -> Quiz | None: ...

    async def reveal_quiz(self, quiz_id: str) -> bool:
        """Mark revealed; False when it was already."""

    async def answer_quiz(self, quiz_id: str, member: str, choice: int) -> bool:
        """The member's one answer; False when they answered already."""

    async def quiz_answer_of(self, quiz_id: str, member: str) -> int | None: ...

    async def quiz_answers(self, quiz_id: str) -> dict[str, int]:
        """Every answer: member -> choice."""

    # ---- activity (draw pools) --------------------------------------------------------------
    async def record_activity(self, room: str, member: str, at_ms: int) -> None: ...

    async def active_members(self, room: str, from_ms: int, to_ms: int) -> list[str]: ...

    # ---- draws ----------------------------------------------------------------------------------
    async def create_draw(self, draw: Draw, pool: list[str]) -> None: ...

    async def get_draw(self, draw_id: str) -> Draw | None: ...

    async def draws_of(self, program: str) -> list[Draw]: ...

    async def draw_pool(self, draw_id: str) -> list[str]: ...

    async def set_drawn(self, draw_id: str, winners: list[str], backups: list[str], drawn_ms: int) -> bool:
        """Record the result once; False when the draw was drawn already."""

    async def put_claim(self, claim: Claim) -> None: ...

    async def claims(self, draw_id: str) -> list[Claim]: ...

    async def delete_expired_claims(self, now_ms: int) -> int: ...


def make_events_store(backend: Backend) -> EventsStore:
    if backend.kind == "redis":
        from .store_redis import RedisEventsStore

        return RedisEventsStore(backend.require_redis(), backend)
    from .store_sqlite import SqliteEventsStore

    return SqliteEventsStore(backend.require_db())
