"""`create_app(data_dir)`: the Starlette application of `selfeval serve`.

Pages are rendered on the server (Jinja2, autoescaped); the few scripts only improve a page that
works without them. Every route finds the signed-in user first: a unit account sees and downloads
only its own unit's records (another unit's id answers 404, as an unknown one does) and never the
bureau pages (403); every POST needs the session's CSRF token (403 without it). Reading an upload
(a 绩效目标表, a rule file) and writing a template run in a worker thread: one person's upload
never holds up another's page.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from selfeval.report.labels import SEVERITY_LABELS
from selfeval.web import auth
from selfeval.web.jobs import Jobs
from selfeval.web.store import Record, Store, User

log = logging.getLogger("selfeval.web")

HERE = Path(__file__).resolve().parent
MAX_UPLOAD = 200 << 20  # bytes in one request
MAX_FILES = 200  # files in one form
LOCAL_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
UNIT_KINDS = ("declaration", "score")
BUREAU_KINDS = ("bulk", "whatif", "audit")
PAGE_SIZE = 50
DEMO_UNIT = "480001"  # the bundled sample's unit (玉田县石臼窝镇人民政府本级): the accounts that may see the demo
WHATIF_FIELDS = (  # the sliders: field, label, min, max, step
    ("weights.产出指标", "产出指标权重", 0, 100, 5),
    ("weights.效益指标", "效益指标权重", 0, 100, 5),
    ("weights.满意度指标", "满意度指标权重", 0, 100, 5),
    ("weights.预算执行率", "预算执行率权重", 0, 100, 5),
    ("overshoot.threshold", "超额完成阈值（完成比例）", 1.0, 3.0, 0.1),
)
SEVERITY = SEVERITY_LABELS
OPS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "eq": "=", "range": "区间", "deadline": "不晚于", "qualitative": "定性"}
STATUS = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}


@dataclass
class Config:
    data_dir: Path
    local: bool = True  # listening on the local machine only: no accounts needed until one exists
    max_upload: int = MAX_UPLOAD


# ----------------------------------------------------------------------------- helpers


def _num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}"
    return str(value)


def _pct(value: Any) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
    env.filters.update(num=_num, pct=_pct, when=_when, severity=lambda s: SEVERITY.get(s, s), status=lambda s: STATUS.get(s, s), op=lambda s: OPS.get(s, s or ""),
                       q=lambda s: quote(str(s), safe=""))
    return env


class BodyLimit:
    """Refuse a request body larger than `limit` bytes (413), whether it declares its length or not."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(self.limit)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, _too_large_text(self.limit))
            return message

        await self.app(scope, limited, send)


def _too_large_text(limit: int) -> str:
    return f"上传的内容超过上限 {limit / (1 << 20):.0f} MiB"


def _too_large(limit: int) -> Response:
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>文件过大</title><p>{_too_large_text(limit)}</p>", status_code=413)


class LocalNamesOnly:
    """Answer only requests addressed to a local host name (a DNS-rebinding page cannot reach the
    local server); any other name gets a Chinese 400 page naming the address to use."""

    def __init__(self, app: ASGIApp, names: tuple[str, ...]):
        self.app = app
        self.names = {n.lower() for n in names}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            if _host_name(host) not in self.names:
                page = ("<!doctype html><meta charset=utf-8><title>地址不对</title><p>本机网页应用只接受以本机地址访问："
                        "请在浏览器中打开 http://127.0.0.1:端口/（或 http://localhost:端口/）。</p>")
                await HTMLResponse(page, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _host_name(host: str) -> str:
    """The name of a Host header without its port: `127.0.0.1:8765` → `127.0.0.1`, `[::1]:8765` → `[::1]`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


# ----------------------------------------------------------------------------- the app


class Web:
    """The routes and what they share (store, jobs, templates, config)."""

    def __init__(self, config: Config, *, start_jobs: bool = True):
        from selfeval.web.work import WORK

        self.config = config
        self.store = Store(config.data_dir)
        self.jobs = Jobs(self.store, WORK)
        self.env = environment()
        self.start_jobs = start_jobs

    # ------------------------------------------------------------------ session and access

    def open_access(self) -> bool:
        return self.config.local and not self.store.has_users()

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        session: auth.Session = request.state.session
        if "record" in context:
            context.setdefault("elapsed", int(time.time() - context["record"].created))
        html = self.env.get_template(name).render(
            user=session.user, csrf=session.csrf, open_access=self.open_access(), path=request.url.path, **context
        )
        return HTMLResponse(html, status_code=status)

    def page(self, *, admin: bool = False, login: bool = True) -> Callable[[Callable[..., Awaitable[Response]]], Callable[[Request], Awaitable[Response]]]:
        """Wrap an endpoint: session, login, role, CSRF on POST, the session cookie, clean errors."""

        def wrap(endpoint: Callable[..., Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
            async def handler(request: Request) -> Response:
                session = auth.current_session(self.store, request.cookies.get(auth.COOKIE), self.open_access())
                request.state.session = session
                response = await self._guarded(request, session, endpoint, admin=admin, login=login)
                if session.token is not None:
                    response.set_cookie(auth.COOKIE, session.token, max_age=int(auth.SESSION_LIFETIME), httponly=True, samesite="lax", path="/")
                return response

            handler.__name__ = endpoint.__name__
            return handler

        return wrap

    async def _guarded(self, request: Request, session: auth.Session, endpoint: Callable[..., Awaitable[Response]], *, admin: bool, login: bool) -> Response:
        from selfeval.cli_support import error_line
        from selfeval.errors import SelfevalError

        try:
            if request.method == "POST":
                try:
                    form = await request.form(max_files=MAX_FILES, max_fields=100, max_part_size=1 << 20)
                except HTTPException as exc:
                    if exc.status_code != 400:
                        raise
                    detail = str(exc.detail)
                    reason = f"一次最多上传 {MAX_FILES} 个文件" if "Too many files" in detail else detail
                    raise HTTPException(400, f"上传的表单无法读取：{reason}") from None
                request.state.form = form
                if not auth.csrf_ok(session, form.get("csrf")):  # type: ignore[arg-type]
                    raise HTTPException(403, "表单已过期或来源不明（缺少 CSRF 令牌），请刷新页面后重试")
            if login and session.user is None:
                return RedirectResponse(f"/login?{urlencode({'next': request.url.path})}", status_code=303)
            if admin and (session.user is None or not session.user.is_admin):
                raise HTTPException(403, "此页面只对财政局账户开放")
            return await endpoint(request)
        except HTTPException as exc:
            return self.error(request, exc.status_code, str(exc.detail))
        except SelfevalError as exc:
            return self.error(request, 400, error_line(exc), title="输入有误")
        except OSError as exc:
            return self.error(request, 400, error_line(exc), title="文件错误")
        except Exception as exc:
            if type(exc).__name__ == "MultiPartException":
                return self.error(request, 400, f"上传的表单无法读取：{exc}")
            log.exception("unexpected error on %s", request.url.path)
            return self.error(request, 500, f"内部错误（{type(exc).__name__}），请把这条信息告诉管理员", title="出错了")
        finally:
            form = getattr(request.state, "form", None)
            if form is not None:
                await form.close()  # the uploaded files' temporary files

    def error(self, request: Request, status: int, message: str, title: str | None = None) -> HTMLResponse:
        titles = {400: "输入有误", 403: "没有权限", 404: "找不到页面", 413: "文件过大", 500: "出错了"}
        if not hasattr(request.state, "session"):
            request.state.session = auth.Session(token=None, user=None, csrf="")
        return self.render(request, "error.html", status=status, title=title or titles.get(status, "出错了"), message=message, status_code=status)

    def user(self, request: Request) -> User:
        user = request.state.session.user
        assert user is not None
        return user

    def visible(self, user: User, record: Record) -> bool:
        if user.is_admin:
            return True
        return record.kind in UNIT_KINDS and record.owner_unit is not None and record.owner_unit == user.unit_code

    def record(self, request: Request, kinds: tuple[str, ...]) -> Record:
        """The record named in the path, if this user may see it; 404 otherwise (unknown or not theirs)."""
        found = self.store.record(request.path_params["id"])
        if found is None or found.kind not in kinds or not self.visible(self.user(request), found):
            raise HTTPException(404, "找不到该记录（或您无权查看）")
        return found

    def form(self, request: Request) -> Any:
        return request.state.form

    def rule_names(self) -> list[str]:
        from selfeval.rules.loader import available_rules

        return list(available_rules([self.store.rules_dir]))

    # ------------------------------------------------------------------ pages: home and login

    async def home(self, request: Request) -> Response:
        user = self.user(request)
        return self.render(request, "home.html", is_admin=user.is_admin, demo=self.may_demo(user))

    def may_demo(self, user: User) -> bool:
        """The bureau and the sample's own unit: a record of the sample is unit 480001's."""
        return user.is_admin or user.unit_code == DEMO_UNIT

    async def login_page(self, request: Request) -> Response:
        return self.render(request, "login.html", next=request.query_params.get("next", "/"), failed=False)

    async def login(self, request: Request) -> Response:
        form = self.form(request)
        try:
            user = auth.login(self.store, str(form.get("name", "")), str(form.get("password", "")))
        except auth.TooManyAttempts:
            minutes = int(auth.FAILURE_WINDOW // 60)
            return self.error(request, 429, f"密码错误次数过多，请 {minutes} 分钟后再试", title="请稍后再试")
        nxt = str(form.get("next") or "/")
        if not nxt.startswith("/") or nxt.startswith("//") or "\\" in nxt:  # only a path of this site
            nxt = "/"
        if user is None:
            return self.render(request, "login.html", status=401, next=nxt, failed=True)
        old = request.cookies.get(auth.COOKIE)
        if old:
            self.store.drop_session(auth.token_hash(old))
        session = auth.new_session(self.store, user)  # a new token at login: no session fixation
        response = RedirectResponse(nxt, status_code=303)
        response.set_cookie(auth.COOKIE, session.token or "", max_age=int(auth.SESSION_LIFETIME), httponly=True, samesite="lax", path="/")
        return response

    async def logout(self, request: Request) -> Response:
        cookie = request.cookies.get(auth.COOKIE)
        if cookie:
            self.store.drop_session(auth.token_hash(cookie))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(auth.COOKIE, path="/")
        return response

    # ------------------------------------------------------------------ unit journey

    async def unit_home(self, request: Request) -> Response:
        user = self.user(request)
        scope = None if user.is_admin else user.unit_code
        declarations = self.store.records(("declaration",), unit_code=scope)
        runs = self.store.records(("score",), unit_code=scope)
        return self.render(request, "unit.html", declarations=declarations, runs=runs)

    async def demo(self, request: Request) -> Response:
        """用示例数据试一试: the bundled sample declared, filled and scored in one click."""
        import shutil

        from selfeval.cli import DEMO_SAMPLES, sample_dir

        user = self.user(request)
        if not self.may_demo(user):
            raise HTTPException(403, f"示例数据属于单位 {DEMO_UNIT}（玉田县石臼窝镇人民政府本级），本账户只能查看本单位 {user.unit_code} 的记录；"
                                     "请在“单位自评”上传本单位的绩效目标表")
        folder = sample_dir()
        declaration = self._new_declaration(user, "示例：玉田县石臼窝镇 2025")
        shutil.copy(folder / DEMO_SAMPLES[0], self.store.input_dir(declaration.id) / DEMO_SAMPLES[0])
        declaration = await run_in_threadpool(self._parse, declaration, user, None)
        run = self.store.add_record("score", "示例数据评分", user, unit_code=declaration.owner_unit, parent=declaration.id, status="queued",
                                    params={"rules": None, "actuals": DEMO_SAMPLES[1], "execution": DEMO_SAMPLES[2]})
        inputs = self.store.input_dir(run.id)
        inputs.mkdir(parents=True)
        for name in DEMO_SAMPLES[1:]:
            shutil.copy(folder / name, inputs / name)
        self.jobs.submit(run)
        return RedirectResponse(f"/runs/{run.id}", status_code=303)

    def _new_declaration(self, user: User, title: str) -> Record:
        record = self.store.add_record("declaration", title, user, status="running")
        self.store.input_dir(record.id).mkdir(parents=True)
        return record

    def _parse(self, record: Record, user: User, year: int | None) -> Record:
        from selfeval.web.uploads import remove_tree
        from selfeval.web.work import parse_declaration

        try:
            meta = parse_declaration(self.store, record, year=year, unit_code=None if user.is_admin else user.unit_code)
        except Exception:
            with self.store.connect() as db:
                db.execute("DELETE FROM records WHERE id = ?", (record.id,))
            remove_tree(self.store.folder(record.id))
            raise
        units = meta["units"]
        owner = user.unit_code if not user.is_admin else (units[0]["unit_code"] if len(units) == 1 else None)
        title = "、".join(f"{u['unit_code']} {u['unit_name']}" for u in units[:3]) or record.title
        self.store.update(record.id, status="done", meta=meta, owner_unit=owner, title=f"{title}（{record.title}）")
        found = self.store.record(record.id)
        assert found is not None
        return found

    async def upload_declaration(self, request: Request) -> Response:
        from selfeval.web.uploads import save_upload

        user = self.user(request)
        form = self.form(request)
        files = [f for f in form.getlist("files") if getattr(f, "filename", None)]
        if not files:
            raise HTTPException(400, "请选择绩效目标表文件（.txt 文本导出、.docx、.xlsx，或规范表格 .csv/.parquet/.zip）")
        year_text = str(form.get("year") or "").strip()
        if year_text and not (year_text.isdigit() and 1900 <= int(year_text) <= 2100):
            raise HTTPException(400, f"预算年度应为 1900–2100 之间的年份，读到 {year_text!r}")
        record = self._new_declaration(user, "、".join(f.filename for f in files)[:80])
        for f in files:
            save_upload(self.store.input_dir(record.id), f.filename, await f.read())
        try:
            record = await run_in_threadpool(self._parse, record, user, int(year_text) if year_text else None)
        except Exception as exc:  # noqa: BLE001 - re-raised, naming the uploaded file
            raise _with_names(exc, self.store, record) from None
        return RedirectResponse(f"/declarations/{record.id}", status_code=303)

    async def declaration(self, request: Request) -> Response:
        import polars as pl

        record = self.record(request, ("declaration",))
        if record.status != "done":
            return self.render(request, "progress.html", record=record, back="/unit")
        out = self.store.out_dir(record.id)
        projects = pl.read_parquet(out / "projects.parquet")
        indicators = pl.read_parquet(out / "indicators.parquet")
        targets = pl.read_parquet(out / "parsed_targets.parquet").select("project_code", "seq", "op", "value", "value_hi", "deadline", "unit", "error")
        lint = pl.read_parquet(out / "lint.parquet")
        rows = indicators.join(targets, on=["project_code", "seq"], how="left")
        marks: dict[tuple[str, Any], list[dict[str, Any]]] = {}
        for f in lint.to_dicts():
            marks.setdefault((f["project_code"], f["seq"]), []).append(f)
        by_project = [
            {"project": p, "indicators": [{**i, "findings": marks.get((p["project_code"], i["seq"]), [])}
                                          for i in rows.filter(pl.col("project_code") == p["project_code"]).to_dicts()],
             "findings": marks.get((p["project_code"], None), [])}
            for p in projects.to_dicts()
        ]
        runs = self.store.records(("score",), parent=record.id)
        return self.render(request, "declaration.html", record=record, projects=by_project, lint=lint.to_dicts(),
                           runs=runs, rule_names=self.rule_names())

    def _declaration(self, request: Request) -> Record:
        record = self.record(request, ("declaration",))
        if record.status != "done":
            raise HTTPException(400, "这份绩效目标表没有读取成功，请重新上传")
        return record

    async def template(self, request: Request) -> Response:
        from selfeval.web.work import template_file

        record = self._declaration(request)
        rules = request.query_params.get("rules") or None
        if rules is not None and rules not in self.rule_names():
            raise HTTPException(400, f"没有名为 {rules!r} 的规则集")
        path = await run_in_threadpool(template_file, self.store, record, rules)
        return _download(path)

    async def start_run(self, request: Request) -> Response:
        from selfeval.web.uploads import save_upload

        declaration = self._declaration(request)
        user = self.user(request)
        form = self.form(request)
        rules = str(form.get("rules") or "") or None
        if rules is not None and rules not in self.rule_names():
            raise HTTPException(400, f"没有名为 {rules!r} 的规则集")
        filled, actuals, execution = (form.get(k) for k in ("filled", "actuals", "execution"))
        given = {k: f for k, f in (("filled", filled), ("actuals", actuals), ("execution", execution)) if getattr(f, "filename", None)}
        if "filled" not in given and not ("actuals" in given and "execution" in given):
            raise HTTPException(400, "请上传已填写的填报模板，或同时上传实际完成值与预算执行数据")
        run = self.store.add_record("score", "评分", user, unit_code=declaration.owner_unit, parent=declaration.id, status="queued")
        inputs = self.store.input_dir(run.id)
        inputs.mkdir(parents=True)
        if "filled" in given:
            path = save_upload(inputs, given["filled"].filename, await given["filled"].read())
            names = {"actuals": path.name, "execution": path.name}
        else:
            names = {k: save_upload(inputs, given[k].filename, await given[k].read()).name for k in ("actuals", "execution")}
        self.store.update(run.id, params={"rules": rules, **names}, title="评分：" + "、".join(sorted(set(names.values()))))
        run = self.store.record(run.id)
        assert run is not None
        self.jobs.submit(run)
        return RedirectResponse(f"/runs/{run.id}", status_code=303)

    async def run(self, request: Request) -> Response:
        import polars as pl

        from selfeval.web.charts import stacked_bars

        record = self.record(request, ("score",))
        if record.status != "done":
            return self.render(request, "progress.html", record=record, back=f"/declarations/{record.parent}")
        out = self.store.out_dir(record.id)
        units = pl.read_parquet(out / "unit_scores.parquet").to_dicts()
        projects = pl.read_parquet(out / "project_scores.parquet")
        indicators = pl.read_parquet(out / "indicator_scores.parquet")
        findings = pl.read_parquet(out / "findings.parquet")
        flagged: dict[tuple[str, Any], list[dict[str, Any]]] = {}
        for f in findings.to_dicts():
            flagged.setdefault((f["project_code"], f["seq"]), []).append(f)
        names = projects.get_column("project_name").to_list()
        chart = stacked_bars(
            [n or c for n, c in zip(names, projects.get_column("project_code").to_list())],
            {"产出指标": projects.get_column("output_points").to_list(), "效益指标": projects.get_column("effect_points").to_list(),
             "满意度指标": projects.get_column("satisfaction_points").to_list(), "预算执行率": projects.get_column("execution_points").to_list()},
            100.0, title="各项目按一级指标得分",
        )
        sections = [
            {"project": p, "indicators": [{**i, "findings": flagged.get((p["project_code"], i["seq"]), [])}
                                          for i in indicators.filter(pl.col("project_code") == p["project_code"]).to_dicts()]}
            for p in projects.to_dicts()
        ]
        return self.render(request, "run.html", record=record, units=units, sections=sections, findings=findings.to_dicts(),
                           chart=chart, declaration=self.store.record(record.parent or ""))

    async def status(self, request: Request) -> Response:
        record = self.record(request, (*UNIT_KINDS, *BUREAU_KINDS))
        return JSONResponse({"id": record.id, "status": record.status, "progress": record.progress, "message": record.message,
                             "error": record.error})

    async def download(self, request: Request) -> Response:
        record = self.record(request, ("score", "whatif", "audit", "bulk"))
        name = request.path_params["name"]
        allowed = set(record.meta.get("files", []))
        if record.kind == "bulk":
            allowed |= {f"tables/{t}.parquet" for t in ("league_table", "unit_scores", "project_scores", "indicator_scores", "findings", "grade_distribution", "findings_summary")}
        if record.status != "done" or name not in allowed:
            raise HTTPException(404, "找不到该文件")
        return _download(self.store.out_dir(record.id) / name)

    # ------------------------------------------------------------------ bureau

    async def bureau(self, request: Request) -> Response:
        return self.render(request, "bureau.html", bulks=self.store.records(("bulk",)), audits=self.store.records(("audit",)),
                           whatifs=self.store.records(("whatif",)), rule_names=self.rule_names())

    async def start_bulk(self, request: Request) -> Response:
        from selfeval.web.uploads import save_upload

        user = self.user(request)
        form = self.form(request)
        rules = self._rules_field(form)
        upload = form.get("archive")
        synth = str(form.get("synth_units") or "").strip()
        if getattr(upload, "filename", None):
            if not upload.filename.lower().endswith(".zip"):
                raise HTTPException(400, f"{upload.filename}：请上传 .zip 压缩包（数据集、规范表格或每个单位一个文件夹）")
            record = self.store.add_record("bulk", f"批量评分：{upload.filename}", user, status="queued", params={"rules": rules})
            self.store.input_dir(record.id).mkdir(parents=True)
            save_upload(self.store.input_dir(record.id), upload.filename, await upload.read())
        elif synth:
            if not synth.isdigit() or not 1 <= int(synth) <= 20000:
                raise HTTPException(400, f"示例县单位数应为 1–20000 的整数，读到 {synth!r}")
            record = self.store.add_record("bulk", f"示例县（{int(synth)} 个单位）", user, status="queued",
                                           params={"rules": rules, "synth_units": int(synth), "seed": 0})
        else:
            raise HTTPException(400, "请上传 .zip 压缩包，或填写示例县的单位数")
        self.jobs.submit(record)
        return RedirectResponse(f"/bulk/{record.id}", status_code=303)

    def _rules_field(self, form: Any, key: str = "rules") -> str | None:
        rules = str(form.get(key) or "") or None
        if rules is not None and rules not in self.rule_names():
            raise HTTPException(400, f"没有名为 {rules!r} 的规则集")
        return rules

    async def bulk(self, request: Request) -> Response:
        import polars as pl

        from selfeval.web.charts import grade_bars

        record = self.record(request, ("bulk",))
        if record.status != "done":
            return self.render(request, "progress.html", record=record, back="/bureau")
        out = self.store.out_dir(record.id)
        q = request.query_params
        league = pl.scan_parquet(out / "tables" / "league_table.parquet")
        grade, code = q.get("grade") or "", q.get("finding") or ""
        if grade:
            league = league.filter(pl.col("grade") == grade)
        if code:
            units = pl.scan_parquet(out / "unit_finding_codes.parquet").filter(pl.col("code") == code).select("unit_code")
            league = league.join(units, on="unit_code", how="semi")
        sortable = {"rank": "名次", "unit_code": "单位编码", "unit_name": "单位名称", "total": "总分", "execution_rate": "执行率",
                    "errors": "错误数", "warnings": "警告数", "projects": "项目数"}
        sort = q.get("sort") if q.get("sort") in sortable else "rank"
        desc = q.get("desc") == "1"
        total_rows = league.select(pl.len()).collect().item()
        pages = max(1, -(-total_rows // PAGE_SIZE))
        page = min(max(_int(q.get("page"), 1), 1), pages)
        rows = league.sort(sort, descending=desc, nulls_last=True).slice((page - 1) * PAGE_SIZE, PAGE_SIZE).collect().to_dicts()
        distribution = pl.read_parquet(out / "tables" / "grade_distribution.parquet")
        unit_counts = {r["grade"]: r["count"] for r in distribution.filter(pl.col("level") == "单位").to_dicts()}
        project_counts = {r["grade"]: r["count"] for r in distribution.filter(pl.col("level") == "项目").to_dicts()}
        summary = pl.read_parquet(out / "tables" / "findings_summary.parquet").to_dicts()
        skipped = pl.read_parquet(out / "tables" / "skipped.parquet").to_dicts() if (out / "tables" / "skipped.parquet").is_file() else []
        skipped = [{k: self.store.shown(v, record.id) if isinstance(v, str) else v for k, v in s.items()} for s in skipped]
        base = {"grade": grade, "finding": code, "sort": sort, "desc": "1" if desc else ""}

        def link(**changes: Any) -> str:
            return f"/bulk/{record.id}?" + urlencode({k: v for k, v in {**base, **changes}.items() if v not in ("", None)})

        from selfeval.web.work import rules_for

        rules = rules_for(self.store, record.params.get("rules"))
        sliders = [{"field": f, "label": label, "min": lo, "max": hi, "step": step, "value": _field_value(rules, f)}
                   for f, label, lo, hi, step in WHATIF_FIELDS]
        return self.render(
            request, "bulk.html", record=record, rows=rows, page=page, pages=pages, total_rows=total_rows, sortable=sortable,
            sort=sort, desc=desc, grade=grade, finding=code, link=link, summary=summary, skipped=skipped,
            unit_chart=grade_bars(unit_counts, title="单位等级分布"), project_chart=grade_bars(project_counts, title="项目等级分布"),
            grades=list(unit_counts), sliders=sliders, rule_names=self.rule_names(),
            whatifs=self.store.records(("whatif",), parent=record.id),
        )

    async def bulk_unit(self, request: Request) -> Response:
        import polars as pl

        record = self.record(request, ("bulk",))
        if record.status != "done":
            raise HTTPException(404, "批量评分尚未完成")
        code = request.path_params["code"]
        out = self.store.out_dir(record.id) / "tables"
        unit = pl.scan_parquet(out / "league_table.parquet").filter(pl.col("unit_code") == code).collect().to_dicts()
        if not unit:
            raise HTTPException(404, f"本次批量评分中没有单位 {code}")
        projects = pl.scan_parquet(out / "project_scores.parquet").filter(pl.col("unit_code") == code).collect().to_dicts()
        findings = pl.scan_parquet(out / "findings.parquet").filter(pl.col("unit_code") == code).head(500).collect().to_dicts()
        return self.render(request, "bulk_unit.html", record=record, unit=unit[0], projects=projects, findings=findings)

    async def start_whatif(self, request: Request) -> Response:
        bulk = self.record(request, ("bulk",))
        if bulk.status != "done":
            raise HTTPException(400, "批量评分完成后才能试算")
        form = self.form(request)
        compare = self._rules_field(form, "compare")
        params: dict[str, Any] = {"base": bulk.params.get("rules")}
        if compare:
            from selfeval.web.work import rules_for

            if rules_for(self.store, compare).name == rules_for(self.store, bulk.params.get("rules")).name:
                raise HTTPException(400, f"本次批量评分用的就是规则集 {compare}：请选择另一个规则集对比，或移动滑块")
            params["compare"] = compare
            title = f"试算：{bulk.meta.get('rules', {}).get('name')} 对比 {compare}"
        else:
            from selfeval.web.work import rules_for

            base = rules_for(self.store, bulk.params.get("rules"))
            fields = {}
            for f, label, lo, hi, _ in WHATIF_FIELDS:
                text = str(form.get(f) or "").strip()
                if not text:
                    continue
                try:
                    value = float(text)
                except ValueError:
                    raise HTTPException(400, f"{label} 应为数字，读到 {text!r}") from None
                if not lo <= value <= hi:
                    raise HTTPException(400, f"{label} 应在 {lo}–{hi} 之间，读到 {text}")
                if abs(value - (_field_value(base, f) or 0)) > 1e-9:
                    fields[f] = value
            if not fields:
                raise HTTPException(400, "滑块没有移动：请调整至少一个参数，或选择一个规则集对比")
            params["fields"] = fields
            title = "试算：" + "，".join(f"{k}={v:g}" for k, v in fields.items())
        record = self.store.add_record("whatif", title, self.user(request), parent=bulk.id, status="queued", params=params)
        self.jobs.submit(record)
        return RedirectResponse(f"/whatif/{record.id}", status_code=303)

    async def whatif(self, request: Request) -> Response:
        import polars as pl

        record = self.record(request, ("whatif",))
        if record.status != "done":
            return self.render(request, "progress.html", record=record, back=f"/bulk/{record.parent}")
        out = self.store.out_dir(record.id)
        names = record.meta["scenarios"]
        units = pl.read_parquet(out / "units_view.parquet")
        last = names[-1]
        changed = units.filter(pl.col(f"delta__{last}").abs() > 0).sort(pl.col(f"delta__{last}").abs(), descending=True).head(100)
        rows = [{"unit_code": r["unit_code"], "unit_name": r.get("unit_name"), "before": r[f"total__{names[0]}"], "after": r[f"total__{last}"],
                 "delta": r[f"delta__{last}"], "grade_before": r[f"grade__{names[0]}"], "grade_after": r[f"grade__{last}"]}
                for r in changed.to_dicts()]
        summary = pl.read_parquet(out / "summary_view.parquet").to_dicts()
        return self.render(request, "whatif.html", record=record, names=names, rows=rows, summary=summary,
                           matrices=record.meta["matrices"], grades=record.meta["grades"], changed_units=changed.height)

    async def start_audit(self, request: Request) -> Response:
        from selfeval.web.uploads import save_upload

        form = self.form(request)
        rules = self._rules_field(form)
        files = [f for f in form.getlist("files") if getattr(f, "filename", None)]
        if not files:
            raise HTTPException(400, "请选择要审核的自评表（.xlsx/.xls/.docx，多个文件或一个 .zip）")
        record = self.store.add_record("audit", "审核：" + "、".join(f.filename for f in files)[:80], self.user(request), status="queued",
                                       params={"rules": rules})
        self.store.input_dir(record.id).mkdir(parents=True)
        for f in files:
            save_upload(self.store.input_dir(record.id), f.filename, await f.read())
        self.jobs.submit(record)
        return RedirectResponse(f"/audit/{record.id}", status_code=303)

    async def audit(self, request: Request) -> Response:
        import polars as pl

        record = self.record(request, ("audit",))
        if record.status != "done":
            return self.render(request, "progress.html", record=record, back="/bureau")
        tables = self.store.out_dir(record.id) / "tables"
        summary = pl.read_parquet(tables / "audit_summary.parquet").head(200).to_dicts()
        findings = pl.read_parquet(tables / "audit_findings.parquet").head(500).to_dicts()
        files = pl.read_parquet(tables / "audit_files.parquet").to_dicts()
        return self.render(request, "audit.html", record=record, summary=summary, findings=findings, files=files)

    # ------------------------------------------------------------------ rules

    async def rules(self, request: Request) -> Response:
        from selfeval.errors import SelfevalError
        from selfeval.rules.loader import available_rules, load_rules

        listed = []
        for name, path in available_rules([self.store.rules_dir]).items():
            try:
                rule_set = load_rules(path, rules_dirs=[self.store.rules_dir])
                listed.append({"name": name, "title": rule_set.title, "sha256": rule_set.sha256, "uploaded": path.parent == self.store.rules_dir})
            except SelfevalError as exc:
                listed.append({"name": name, "title": f"（无效：{exc}）", "sha256": "", "uploaded": path.parent == self.store.rules_dir})
        return self.render(request, "rules.html", rules=listed, error=None)

    async def rule(self, request: Request) -> Response:
        from selfeval.rules.loader import describe_rules
        from selfeval.web.work import rules_for

        name = request.path_params["name"]
        if name not in self.rule_names():
            raise HTTPException(404, f"没有名为 {name!r} 的规则集")
        rule_set = rules_for(self.store, name)
        return self.render(request, "rule.html", rule=rule_set, rows=describe_rules(rule_set))

    async def rules_diff(self, request: Request) -> Response:
        from selfeval.web.work import rules_for

        a, b = request.query_params.get("a", ""), request.query_params.get("b", "")
        names = self.rule_names()
        for name in (a, b):
            if name not in names:
                raise HTTPException(404, f"没有名为 {name!r} 的规则集")
        try:
            from selfeval.rules.describe import rule_differences
        except ImportError:
            rows = None
        else:
            rows = rule_differences(rules_for(self.store, a), rules_for(self.store, b))
        return self.render(request, "rules_diff.html", a=a, b=b, rows=rows)

    async def upload_rules(self, request: Request) -> Response:
        from selfeval.atomic import atomic_path
        from selfeval.cli_support import error_line
        from selfeval.errors import SelfevalError
        from selfeval.rules.loader import builtin_rule_dirs, load_rules

        upload = self.form(request).get("file")
        if not getattr(upload, "filename", None):
            raise HTTPException(400, "请选择规则文件（.yaml）")
        name = Path(upload.filename.replace("\\", "/")).name
        stem, suffix = Path(name).stem, Path(name).suffix.lower()
        if suffix not in (".yaml", ".yml") or not stem.replace("-", "").replace("_", "").isalnum():
            raise HTTPException(400, f"{name}：规则文件名应为 名称.yaml（字母、数字、-、_），如 my-province.yaml")
        if any((d / f"{stem}{s}").is_file() for d in builtin_rule_dirs() for s in (".yaml", ".yml")):
            raise HTTPException(400, f"{name}：与内置规则集同名，请换一个名称（可用 extends: {stem} 继承它）")
        data = await upload.read()
        check = self.store.rules_dir / f".check-{stem}" / f"{stem}.yaml"
        check.parent.mkdir(parents=True, exist_ok=True)
        try:
            check.write_bytes(data)
            rule_set = await run_in_threadpool(load_rules, check, rules_dirs=[self.store.rules_dir])
        except SelfevalError as exc:
            message = error_line(exc).replace(str(check.parent) + "/", "")
            return self.render(request, "rules.html", status=400, rules=[], error=message)
        finally:
            check.unlink(missing_ok=True)
            check.parent.rmdir()
        with atomic_path(self.store.rules_dir / f"{stem}.yaml") as tmp:
            tmp.write_bytes(data)
        return RedirectResponse(f"/rules/{quote(stem)}?uploaded={quote(rule_set.name)}", status_code=303)

    # ------------------------------------------------------------------ assembly

    def routes(self) -> list[Any]:
        p = self.page
        return [
            Route("/", p()(self.home)),
            Route("/login", p(login=False)(self.login_page), methods=["GET"]),
            Route("/login", p(login=False)(self.login), methods=["POST"]),
            Route("/logout", p(login=False)(self.logout), methods=["POST"]),
            Route("/demo", p()(self.demo), methods=["POST"]),
            Route("/unit", p()(self.unit_home)),
            Route("/declarations", p()(self.upload_declaration), methods=["POST"]),
            Route("/declarations/{id}", p()(self.declaration)),
            Route("/declarations/{id}/template", p()(self.template)),
            Route("/declarations/{id}/runs", p()(self.start_run), methods=["POST"]),
            Route("/runs/{id}", p()(self.run)),
            Route("/records/{id}/status", p()(self.status)),
            Route("/records/{id}/files/{name:path}", p()(self.download)),
            Route("/bureau", p(admin=True)(self.bureau)),
            Route("/bulk", p(admin=True)(self.start_bulk), methods=["POST"]),
            Route("/bulk/{id}", p(admin=True)(self.bulk)),
            Route("/bulk/{id}/units/{code}", p(admin=True)(self.bulk_unit)),
            Route("/bulk/{id}/whatif", p(admin=True)(self.start_whatif), methods=["POST"]),
            Route("/whatif/{id}", p(admin=True)(self.whatif)),
            Route("/audit", p(admin=True)(self.start_audit), methods=["POST"]),
            Route("/audit/{id}", p(admin=True)(self.audit)),
            Route("/rules", p()(self.rules), methods=["GET"]),
            Route("/rules", p(admin=True)(self.upload_rules), methods=["POST"]),
            Route("/rules/diff", p()(self.rules_diff)),
            Route("/rules/{name}", p()(self.rule)),
            Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
        ]


def _int(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() else default


def _field_value(rules: Any, field: str) -> float | None:
    node: Any = rules.model_dump()
    for key in field.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return float(node) if isinstance(node, (int, float)) else None


def _download(path: Path) -> Response:
    if not path.is_file():
        raise HTTPException(404, "找不到该文件")
    return FileResponse(path, filename=path.name)


def _with_names(exc: Exception, store: Store, record: Record) -> Exception:
    """An error of a declaration upload, naming the person's file rather than the store's folder."""
    from selfeval.errors import SelfevalError

    if isinstance(exc, (SelfevalError, OSError)):
        from selfeval.cli_support import error_line

        return HTTPException(400, store.shown(error_line(exc), record.id))
    return exc


def create_app(data_dir: str | Path, *, local: bool = True, max_upload: int = MAX_UPLOAD, start_jobs: bool = True) -> Starlette:
    """The web application over the store in `data_dir` (created when missing).

    `local`: the server listens on the local machine only, so it may run without accounts.
    Jobs left waiting by a stopped server run again once the application starts."""
    web = Web(Config(data_dir=Path(data_dir), local=local, max_upload=max_upload), start_jobs=start_jobs)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        detail = getattr(exc, "detail", "") or "找不到页面"
        if status == 405:
            detail = "不支持这种请求方式"
        return web.error(request, status, str(detail))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if web.start_jobs:
            web.jobs.resume()
        try:
            yield
        finally:
            web.jobs.shutdown()

    middleware = [Middleware(BodyLimit, limit=max_upload)]
    if local:  # a page asked for under another name is a DNS-rebinding attempt on the local server
        middleware.insert(0, Middleware(LocalNamesOnly, names=(*LOCAL_NAMES, "testserver")))
    app = Starlette(routes=web.routes(), exception_handlers={HTTPException: not_found}, lifespan=lifespan, middleware=middleware)
    app.state.web = web
    return app
