"""The kernel: what every slice shares and nothing else.

Settings loading, the clock, JSON errors, the bus and its shared topics, the storage connections
(SQLite, Redis), metrics, logs, body reading, signing, identity and the security middleware.
The kernel imports no slice; slices import the kernel and never each other
(`tests/test_layout.py`).
"""
