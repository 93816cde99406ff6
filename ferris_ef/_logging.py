"""`context.logging`: a plain logging.Logger, created on first use."""
from __future__ import annotations

import logging
import sys
from typing import Any

DEFAULT_LEVEL = logging.INFO
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def parse_level(value: Any) -> tuple[int, bool]:
    """(level, valid): LOG_LEVEL may be a name in any case ("info") or a number."""
    if value is None or value == "":
        return DEFAULT_LEVEL, True
    if isinstance(value, int) and not isinstance(value, bool):
        return value, True
    if isinstance(value, str):
        text = value.strip().upper()
        if text.isdigit():
            return int(text), True
        level = logging.getLevelName(text)
        if isinstance(level, int):
            return level, True
    return DEFAULT_LEVEL, False


def make_logger(package_name: str, log_level: Any) -> logging.Logger:
    """The package's logger, writing to standard error (the step's result shows it)."""
    logger = logging.getLogger(package_name or "ferris_ef")
    level, valid = parse_level(log_level)
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)
        logger.propagate = False
    if not valid:
        logger.warning("config LOG_LEVEL %r is not a logging level; using INFO", log_level)
    return logger
