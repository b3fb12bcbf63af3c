"""Live quizzes: a host opens a question with choices, the correct answer and a window; everyone
in the program's room sees it (`quiz`) with the server's time, so each page counts down the same
window; a member answers once, and only inside the window by the server's clock; after the window
the host reveals the result: the correct choice and the counts go to the room, and each correct
answer earns the program's `quiz` mileage (credited once per member and quiz).

The correct answer is never sent before the reveal.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kernel.clock import Clock
from kernel.errors import ApiError

from .members import new_id
from .mileage import Mileage
from .moments import iso, now_ms, seoul_day
from .ports import Programs, Rooms
from .store import Credit, EventsStore, Quiz

MIN_WINDOW_S = 5
MAX_WINDOW_S = 300
CREDIT_BATCH = 200


class Quizzes:
    def __init__(self, store: EventsStore, mileage: Mileage, programs: Programs, clock: Clock) -> None:
        self.store = store
        self.mileage = mileage
        self.programs = programs
        self.clock = clock
        self.rooms: Rooms | None = None

    def public(self, quiz: Quiz, counts: list[int] | None = None) -> dict[str, Any]:
        now = now_ms(self.clock)
        state = "revealed" if quiz.revealed else "open" if now < quiz.closes_ms else "closed"
        view: dict[str, Any] = {
            "id": quiz.id,
            "program": quiz.program,
            "question": quiz.question,
            "choices": list(quiz.choices),
            "opens_at": iso(quiz.opens_ms),
            "closes_at": iso(quiz.closes_ms),
            "window_s": round((quiz.closes_ms - quiz.opens_ms) / 1000),
            "state": state,
            "server_now": iso(now),
        }
        if quiz.revealed:
            view["correct"] = quiz.answer
            view["counts"] = counts or [0] * len(quiz.choices)
        return view

    async def _emit(self, quiz: Quiz, counts: list[int] | None = None) -> None:
        if self.rooms is not None:
            room = f"program:{quiz.program}"
            await self.rooms.emit(room, "quiz", {**self.public(quiz, counts), "room": room})

    async def open(
        self, program_id: str, question: str, choices: list[str], answer: int, window_s: int
    ) -> Quiz:
        program = await self.programs.require(program_id)
        if program.state not in ("lobby", "live"):
            raise ApiError(
                409, "not_on_air", "A quiz can be opened while the program is in its lobby or live."
            )
        latest = await self.store.latest_quiz(program_id)
        if latest is not None and not latest.revealed and now_ms(self.clock) < latest.closes_ms:
            raise ApiError(409, "quiz_open", "A quiz is open already; wait for its window to close.")
        opens = now_ms(self.clock)
        quiz = Quiz(
            new_id("q_"), program_id, question, tuple(choices), answer, opens, opens + window_s * 1000, False
        )
        await self.store.create_quiz(quiz)
        await self._emit(quiz)
        return quiz

    async def require(self, quiz_id: str) -> Quiz:
        quiz = await self.store.get_quiz(quiz_id)
        if quiz is None:
            raise ApiError(404, "unknown_quiz", "There is no such quiz.")
        return quiz

    async def answer(self, member: str, quiz_id: str, choice: int) -> None:
        quiz = await self.require(quiz_id)
        now = now_ms(self.clock)
        if not quiz.opens_ms <= now < quiz.closes_ms:
            raise ApiError(409, "quiz_closed", "This quiz's window has closed.")
        if not 0 <= choice < len(quiz.choices):
            raise ApiError(
                400, "invalid_choice", f"'choice' is a whole number from 0 to {len(quiz.choices) - 1}."
            )
        if not await self.store.answer_quiz(quiz_id, member, choice):
            raise ApiError(409, "already_answered", "You answered this quiz already.")

    async def counts(self, quiz: Quiz) -> tuple[list[int], list[str]]:
        """(answers per choice, the members who answered right)."""
        answers = await self.store.quiz_answers(quiz.id)
        counts = [0] * len(quiz.choices)
        for choice in answers.values():
            if 0 <= choice < len(counts):
                counts[choice] += 1
        return counts, sorted(m for m, c in answers.items() if c == quiz.answer)

    async def reveal(self, quiz_id: str) -> dict[str, Any]:
        quiz = await self.require(quiz_id)
        if now_ms(self.clock) < quiz.closes_ms:
            raise ApiError(409, "quiz_still_open", "Reveal the result after the window closes.")
        if not await self.store.reveal_quiz(quiz_id):
            raise ApiError(409, "already_revealed", "This quiz's result was revealed already.")
        counts, right = await self.counts(quiz)
        amount = (await self.mileage.rules(quiz.program)).quiz
        if amount > 0:
            for start in range(0, len(right), CREDIT_BATCH):
                batch = right[start : start + CREDIT_BATCH]
                await asyncio.gather(
                    *(self.mileage.store.credit(self._credit(m, quiz, amount)) for m in batch)
                )
        revealed = Quiz(**{**quiz.__dict__, "revealed": True})
        await self._emit(revealed, counts)
        return {**self.public(revealed, counts), "correct_answers": len(right)}

    def _credit(self, member: str, quiz: Quiz, amount: int) -> Credit:
        return Credit(
            member,
            amount,
            "quiz",
            quiz.id,
            quiz.program,
            now_ms(self.clock),
            seoul_day(self.clock),
            self.mileage.settings.daily_cap,
            None,
            f"{member}:quiz:{quiz.id}",
        )

    async def view(self, program_id: str, member: str | None) -> dict[str, Any] | None:
        quiz = await self.store.latest_quiz(program_id)
        if quiz is None:
            return None
        counts = (await self.counts(quiz))[0] if quiz.revealed else None
        view = self.public(quiz, counts)
        if member is not None:
            view["my_answer"] = await self.store.quiz_answer_of(quiz.id, member)
        return view
