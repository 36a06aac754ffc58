"""The long canonical form (systems that export data): canonical tables plus the claims."""

from __future__ import annotations

from pathlib import Path


def is_canonical(source: str | Path) -> bool:
    return False


def read_canonical(source: str | Path, *, year: int | None = None):  # noqa: ANN201
    raise NotImplementedError
