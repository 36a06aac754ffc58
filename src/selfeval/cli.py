"""selfeval 命令行：一个命令对应一个使用场景。Thin typer app; the work lives in the library."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from selfeval.errors import SelfevalError

app = typer.Typer(
    name="selfeval",
    help="绩效自评引擎：读取绩效目标表与实际完成值，逐项评分、汇总定级并生成自评表。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console()
err_console = Console(stderr=True)


class TableFormat(str, enum.Enum):
    parquet = "parquet"
    csv = "csv"
    both = "both"


class OutputStyle(str, enum.Enum):
    human = "human"
    json = "json"


def fail(error: Exception, code: int = 1) -> typer.Exit:
    """Print a clean error (never a traceback) and return the Exit to raise."""
    err_console.print(f"[bold red]错误：[/]{error}", highlight=False)
    return typer.Exit(code)


# ------------------------------------------------------------------------------------ parse
# (owned by the ingest work: `selfeval parse FILE [--out DIR] [--format parquet|csv]`)


# ------------------------------------------------------------------------------------ score
# (owned by the scoring work)


# --------------------------------------------------------------------- template/report/demo
# (owned by the report work)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
