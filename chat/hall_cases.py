"""The cases each exhibition hall shows (`GET /api/halls/{id}/cases`).

EXPO.md gives the counts: 11 cases each in 사회적 가치, 디지털 서비스 and 참여와 협력, 17 in
지역혁신 (one per province or metropolitan city); none for 성과관 and 실패박람회관. Until the
operator provides the real titles, each hall lists numbered placeholders (the regional hall's
are named after the 17 regions).

The operator's titles come from a JSON file named by the `chat_halls_file` setting
(`INNOTV_CHAT_HALLS_FILE`), read when the server starts; `innotv halls template` prints the
placeholders in that format, ready to edit:

    {"social-value": [{"title": "…", "title_en": "…", "agency": "…", "url": "https://…"}, …], …}

Keys are hall ids; `title` is required (1-200 characters), the other fields optional. A hall the
file names lists exactly the file's cases (so its count follows); the others keep their
placeholders. A file that breaks these rules stops the server at start with one line saying where.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 1024 * 1024
MAX_CASES = 200
_FIELDS = {"title": 200, "title_en": 200, "agency": 100, "url": 500}

# The 17 first-level regions of Korea, in their usual order (regional hall: one case each).
REGIONS = (
    ("서울특별시", "Seoul"), ("부산광역시", "Busan"), ("대구광역시", "Daegu"), ("인천광역시", "Incheon"),
    ("광주광역시", "Gwangju"), ("대전광역시", "Daejeon"), ("울산광역시", "Ulsan"),
    ("세종특별자치시", "Sejong"), ("경기도", "Gyeonggi"), ("강원특별자치도", "Gangwon"),
    ("충청북도", "North Chungcheong"), ("충청남도", "South Chungcheong"),
    ("전북특별자치도", "North Jeolla"), ("전라남도", "South Jeolla"), ("경상북도", "North Gyeongsang"),
    ("경상남도", "South Gyeongsang"), ("제주특별자치도", "Jeju"),
)


@dataclass(frozen=True)
class HallCase:
    title: str
    title_en: str | None = None
    agency: str | None = None
    url: str | None = None

    def public(self, number: int) -> dict[str, Any]:
        return {"number": number, **asdict(self)}


class CasesFileError(ValueError):
    """The operator's halls file breaks a rule; the message says where."""


def placeholders(hall_id: str, name: str, name_en: str, count: int | None) -> list[HallCase]:
    """Numbered stand-ins for a hall's cases until the operator's file names them."""
    if hall_id == "regional":
        return [HallCase(f"{ko} 지역혁신 사례 (제목 미정)", f"{en}: regional innovation case (title to come)")
                for ko, en in REGIONS[: count or 0]]
    return [HallCase(f"{name} 사례 {n} (제목 미정)", f"{name_en}: case {n} (title to come)")
            for n in range(1, (count or 0) + 1)]


def parse_cases(raw: bytes, known: set[str]) -> dict[str, list[HallCase]]:
    """The cases of a halls file; CasesFileError naming the hall, case and field at fault."""
    if len(raw) > MAX_FILE_BYTES:
        raise CasesFileError(f"larger than {MAX_FILE_BYTES} bytes")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CasesFileError(f"not UTF-8 JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise CasesFileError('the file is one JSON object: {"<hall id>": [case, ...]}')
    out: dict[str, list[HallCase]] = {}
    for hall_id, cases in doc.items():
        if hall_id not in known:
            raise CasesFileError(f"unknown hall {hall_id!r} (known: {', '.join(sorted(known))})")
        if not isinstance(cases, list) or len(cases) > MAX_CASES:
            raise CasesFileError(f"{hall_id}: a list of at most {MAX_CASES} cases")
        out[hall_id] = [_case(hall_id, n, case) for n, case in enumerate(cases, start=1)]
    return out


def load_cases(path: Path, known: set[str]) -> dict[str, list[HallCase]]:
    """Read and check the halls file (blocking: at startup, or in a thread)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CasesFileError(f"cannot read it ({exc.strerror or exc})") from None
    return parse_cases(raw, known)


def template(halls: dict[str, list[HallCase]]) -> str:
    """A halls file listing `halls` (e.g. the placeholders), for the operator to edit."""
    doc = {hall_id: [{k: v for k, v in asdict(c).items() if v is not None} for c in cases]
           for hall_id, cases in halls.items()}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _case(hall_id: str, number: int, case: Any) -> HallCase:
    where = f"{hall_id} case {number}"
    if not isinstance(case, dict):
        raise CasesFileError(f"{where}: an object with a 'title'")
    unknown = set(case) - set(_FIELDS)
    if unknown:
        raise CasesFileError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    values: dict[str, str | None] = {}
    for field, limit in _FIELDS.items():
        value = case.get(field)
        if value is None and field != "title":
            values[field] = None
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise CasesFileError(f"{where}: '{field}' is text of 1-{limit} characters")
        if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
            raise CasesFileError(f"{where}: '{field}' has a control character")
        values[field] = value.strip()
    url = values["url"]
    if url is not None and not url.startswith(("https://", "http://")):
        raise CasesFileError(f"{where}: 'url' starts with https:// or http://")
    title = values["title"]
    assert title is not None
    return HallCase(title, values["title_en"], values["agency"], url)
