"""Logging: every line carries the id of the request that wrote it."""

from __future__ import annotations

import contextvars
import logging
from typing import Any

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def tag_log_records() -> None:
    """Give every log record, whoever logs it, the request id of the task that logs it."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "tags_request_id", False):
        return

    def make_tagged_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        record.request_id = request_id.get()
        return record

    make_tagged_record.tags_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_tagged_record)


def configure_logging(level: int = logging.INFO) -> None:
    """Log lines carry the request id, so a masked INTERNAL_SERVER_ERROR can be found."""
    tag_log_records()
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
