"""A premiere's transcode in a process of its own: `python -m live.transcode_main`, started by the
server with the job as JSON on stdin ({"root", "program_id", "source", "settings", "window",
"log_level", "log_format"}). It prints one JSON line, {"encoded": seconds} or {"error": text}, and
exits 0 or 1. Encoding a whole file then never competes with the server's event loop for the
interpreter lock, and stopping the server stops the job (the server kills it).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

from kernel.logs import setup_logging

from .media import ProgramMedia
from .premiere_media import clear_media, transcode
from .worker import WorkerSettings

log = logging.getLogger("innotv.live")


def main() -> int:
    try:
        job = json.load(sys.stdin)
        settings = WorkerSettings.from_json(job["settings"])
        root, program_id = Path(job["root"]), str(job["program_id"])
        setup_logging(job["log_level"], job["log_format"])
        os.nice(int(job.get("nice", 0)))  # the server's event loop goes first
    except (ValueError, KeyError, TypeError) as exc:
        print(json.dumps({"error": f"bad job: {exc}"}))
        return 1
    try:
        clear_media(root / program_id)
        media = ProgramMedia(root, program_id, settings.segment_s, int(job["window"]))
        encoded = transcode(Path(job["source"]), media, settings.ladder, settings.segment_s, settings.preset)
    except Exception as exc:
        log.exception("premiere transcode failed", extra={"program": program_id})
        print(json.dumps({"error": str(exc)}))
        return 1
    print(json.dumps({"encoded": encoded}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
