"""`selfeval serve`: the local web application (issue 15), and `selfeval serve adduser NAME` for its accounts.

One command, not a group: typer coerces a group's options (through pydantic) even for a
subcommand's --help, which must stay light (tests/test_cli_imports.py).

Registered on the app by the last imports of `selfeval.cli`; imports nothing heavy (nor the `web`
extra) until it runs.
"""

import os
from pathlib import Path
from typing import Annotated

import typer

from selfeval.cli import app, console, escape, fail
from selfeval.errors import SelfevalError

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def default_data_dir() -> Path:
    """$XDG_DATA_HOME/selfeval (default ~/.local/share/selfeval); %LOCALAPPDATA%\\selfeval on Windows."""
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "selfeval"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "selfeval"


def _web_missing(exc: ImportError) -> typer.Exit:
    return fail(SelfevalError(f"网页应用需要安装 web 扩展：python -m pip install 'selfeval[web]'（缺少 {exc.name}）"), 2)


@app.command("serve")
def serve_command(
    action: Annotated[str | None, typer.Argument(help="不写：启动网页应用；adduser：创建账户（其后写用户名）", show_default=False)] = None,
    name: Annotated[str | None, typer.Argument(help="adduser 的用户名", show_default=False)] = None,
    host: Annotated[str, typer.Option("--host", help="监听地址；不是本机地址（127.0.0.1）时必须先创建账户")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="端口")] = 8765,
    data: Annotated[Path | None, typer.Option("--data", "-d", show_default=False, help="数据文件夹：上传的文件、评分结果与账户（默认为用户数据目录下的 selfeval）")] = None,
    max_upload_mb: Annotated[int, typer.Option("--max-upload", min=1, max=10240, help="单次上传上限（MiB）")] = 200,
    role: Annotated[str, typer.Option("--role", help="adduser：admin 财政局（可见全部单位）或 unit 预算单位（只见本单位）")] = "unit",
    unit: Annotated[str | None, typer.Option("--unit", "-u", help="adduser：单位编码（unit 账户必填，如 480001）")] = None,
    password: Annotated[str | None, typer.Option("--password", help="adduser：密码（不给时提示输入；也可用环境变量 SELFEVAL_PASSWORD）")] = None,
) -> None:
    """启动本机网页应用并打印网址（Ctrl-C 停止）：单位上传绩效目标表、下载模板、评分并下载自评表；财政局批量评分、审核与试算；查看规则。

    数据（上传的文件、结果、账户）保存在 --data 文件夹中，重启后仍在。
    `selfeval serve adduser 名称 --role admin|unit [--unit 单位编码]` 创建账户（密码以 argon2 哈希保存）；有了账户后网页需要登录；
    `selfeval serve passwd 名称` 修改密码（该账户已登录的会话随之失效）。
    退出码：0 正常停止或已创建账户；2 缺少 web 扩展、参数错误、端口或数据文件夹不可用、非本机地址却没有账户。
    """
    folder = data or default_data_dir()
    if action is None:
        _serve(host, port, folder, max_upload_mb)
    elif action in ("adduser", "passwd"):
        if not name:
            raise fail(SelfevalError(f"selfeval serve {action} 需要用户名，如：selfeval serve {action} 财政局"), 2)
        if action == "adduser":
            _adduser(name, role, unit, password, folder)
        else:
            _passwd(name, password, folder)
    else:
        raise fail(SelfevalError(f"未知的操作 {action!r}：不写操作即启动网页应用；adduser 创建账户；passwd 修改密码"), 2)


def _serve(host: str, port: int, folder: Path, max_upload_mb: int) -> None:
    local = host in LOCAL_HOSTS
    try:
        import uvicorn

        from selfeval.web.app import create_app
        from selfeval.web.store import Store
    except ImportError as exc:
        raise _web_missing(exc) from None
    try:
        if not local and not Store(folder).has_users():
            raise SelfevalError(f"监听非本机地址 {host} 时必须使用账户：请先运行 selfeval serve adduser 名称 --role admin --data {folder}")
        application = create_app(folder, local=local, max_upload=max_upload_mb << 20)
    except (SelfevalError, OSError) as exc:
        raise fail(exc, 2) from None
    shown = f"[{host}]" if ":" in host else host
    console.print(f"selfeval 网页应用：[bold]http://{escape(shown)}:{port}/[/]（数据文件夹 {escape(str(folder))}；Ctrl-C 停止）", highlight=False)
    try:
        uvicorn.run(application, host=host, port=port, log_level="warning")
    except OSError as exc:
        raise fail(exc, 2) from None


def _adduser(name: str, role: str, unit: str | None, password: str | None, folder: Path) -> None:
    try:
        from selfeval.web.auth import add_user
        from selfeval.web.store import Store
    except ImportError as exc:
        raise _web_missing(exc) from None
    secret = password or os.environ.get("SELFEVAL_PASSWORD") or typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    try:
        add_user(Store(folder), name, secret, role, unit)
    except (ValueError, OSError) as exc:
        raise fail(exc, 2) from None
    where = f"，单位 {unit}" if unit else ""
    console.print(f"已创建账户 {escape(name)}（{'财政局' if role == 'admin' else '预算单位'}{escape(where)}），数据文件夹 {escape(str(folder))}", highlight=False)


def _passwd(name: str, password: str | None, folder: Path) -> None:
    try:
        from selfeval.web.auth import change_password
        from selfeval.web.store import Store
    except ImportError as exc:
        raise _web_missing(exc) from None
    secret = password or os.environ.get("SELFEVAL_PASSWORD") or typer.prompt("新密码", hide_input=True, confirmation_prompt=True)
    try:
        change_password(Store(folder), name, secret)
    except (ValueError, OSError) as exc:
        raise fail(exc, 2) from None
    console.print(f"已修改账户 {escape(name)} 的密码，其已登录的会话已失效", highlight=False)
