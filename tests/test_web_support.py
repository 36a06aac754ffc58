"""Helpers shared by the web tests (a client, CSRF tokens, accounts, the sample's golden totals),
and the tests of the upload guards and charts that need no server."""

from __future__ import annotations

import io
import re
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from selfeval.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SEED = SAMPLES / "seed_targets_2025.txt"
ACTUALS = SAMPLES / "actuals_sample.csv"
EXECUTION = SAMPLES / "execution_sample.csv"
# SPEC.md §5.7: the sample's project totals and the department score under the default rules
GOLDEN_PROJECTS = {
    "13022925P00JXC419898U": 99.93,
    "13022925P00JXC419591N": 100.00,
    "13022925P00016410007L": 99.36,
    "13022925P00JXC419899F": 98.07,
    "13022925P00JXC419896L": 99.55,
}
GOLDEN_UNIT = 99.55
UNIT_A = "480001"  # the sample's unit
UNIT_B = "999999"
PASSWORD = "correct horse battery"

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(client: Any, url: str = "/") -> str:
    """The CSRF token of the client's session, read from a page's form."""
    page = client.get(url)
    found = CSRF.search(page.text)
    assert found, f"no CSRF token on {url} ({page.status_code})"
    return found.group(1)


@contextmanager
def web_client(data: Path, **options: Any) -> Iterator[tuple[Any, Any]]:
    """(TestClient, the app's Web) over a store in `data`; jobs run in the app's worker thread."""
    from starlette.testclient import TestClient

    from selfeval.web.app import create_app

    app = create_app(data, **options)
    with TestClient(app, follow_redirects=False) as client:
        yield client, app.state.web


def add_accounts(data: Path) -> None:
    """A bureau admin, a unit account of the sample's unit (A) and one of another unit (B)."""
    from selfeval.web.auth import add_user
    from selfeval.web.store import Store

    store = Store(data)
    add_user(store, "bureau", PASSWORD, "admin", None)
    add_user(store, "unit-a", PASSWORD, "unit", UNIT_A)
    add_user(store, "unit-b", PASSWORD, "unit", UNIT_B)


def login(client: Any, name: str) -> None:
    client.cookies.clear()
    token = csrf_of(client, "/login")
    response = client.post("/login", data={"csrf": token, "name": name, "password": PASSWORD, "next": "/"})
    assert response.status_code == 303, response.text


def upload_declaration(client: Any, path: Path = SEED, name: str | None = None) -> Any:
    token = csrf_of(client, "/unit")
    return client.post("/declarations", data={"csrf": token}, files={"files": (name or path.name, path.read_bytes())})


def record_id(response: Any) -> str:
    assert response.status_code == 303, response.text[:2000]
    return response.headers["location"].rstrip("/").split("/")[-1]


def score_sample(client: Any, web: Any, declaration: str) -> str:
    """Score the sample's actuals and execution on `declaration`; the finished run's id."""
    token = csrf_of(client, f"/declarations/{declaration}")
    response = client.post(
        f"/declarations/{declaration}/runs", data={"csrf": token, "rules": "mof-2020"},
        files={"actuals": (ACTUALS.name, ACTUALS.read_bytes()), "execution": (EXECUTION.name, EXECUTION.read_bytes())},
    )
    run = record_id(response)
    web.jobs.wait(run, timeout=300)
    return run


def zip_bytes(entries: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if symlink is not None:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buffer.getvalue()


# ----------------------------------------------------------------------------- upload guards


@pytest.mark.parametrize(
    ("entries", "symlink", "words"),
    [
        ({"../evil.txt": b"x"}, None, "压缩包之外"),
        ({"/abs/evil.txt": b"x"}, None, "压缩包之外"),
        ({"ok.txt": b"x"}, "link", "符号链接"),
        ({"bomb.csv": b"0" * 2_000_000}, None, "压缩炸弹"),
    ],
    ids=["parent", "absolute", "symlink", "bomb"],
)
def test_unpack_zip_refuses_hostile_archives(tmp_path: Path, entries: dict[str, bytes], symlink: str | None, words: str) -> None:
    """It should refuse a zip entry outside the folder, a link, or a zip bomb, writing nothing outside."""
    from selfeval.web.uploads import unpack_zip

    archive = tmp_path / "in.zip"
    archive.write_bytes(zip_bytes(entries, symlink=symlink))
    with pytest.raises(InputError, match=words):
        unpack_zip(archive, tmp_path / "out" / "x")
    assert not (tmp_path / "out" / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()


def test_unpack_zip_counts_what_it_inflates(tmp_path: Path) -> None:
    """It should stop at the byte limit while inflating, whatever the headers say."""
    from selfeval.web.uploads import unpack_zip

    archive = tmp_path / "in.zip"
    archive.write_bytes(zip_bytes({"a.csv": bytes(range(256)) * 400}))
    with pytest.raises(InputError, match="上限"):
        unpack_zip(archive, tmp_path / "out", max_unpacked=50_000)


def test_unpack_zip_reads_gbk_names_and_enters_the_one_folder(tmp_path: Path) -> None:
    """It should read Windows (GBK) entry names and return the archive's single top folder."""
    from selfeval.web.uploads import unpack_zip

    gbk = "单位".encode("gbk")  # 4 bytes, written as an ASCII placeholder of that length, then swapped in
    archive = tmp_path / "in.zip"
    archive.write_bytes(zip_bytes({"county/QQQQ.txt": "内容".encode()}).replace(b"QQQQ", gbk))
    assert not zipfile.ZipFile(archive).infolist()[0].flag_bits & 0x800  # no UTF-8 flag, as Windows writes
    root = unpack_zip(archive, tmp_path / "out")
    assert root == tmp_path / "out" / "county"
    assert (root / "单位.txt").read_text(encoding="utf-8") == "内容"


def test_charts_escape_text() -> None:
    """It should draw an SVG whose labels are escaped (a project name cannot inject markup)."""
    from selfeval.web.charts import grade_bars, stacked_bars

    svg = stacked_bars(["<script>alert(1)</script>"], {"产出指标": [40.0], "效益指标": [None]}, 100.0, title="t")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and svg.startswith("<svg")
    bars = grade_bars({"优": 3, "差": 0}, title="分布")
    assert bars.count("<rect") == 2 and ">3<" in bars
