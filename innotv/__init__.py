"""innotv: the composition root of the Innovation TV server (app factory, config, CLI, auth, stores)."""

__version__ = "0.1.0"
