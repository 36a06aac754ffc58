"""The target-document readers: the seed text dump (SPEC.md §3.1) and variants a real unit's file has."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.errors import InputError
from selfeval.ingest import read_declared

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "samples" / "seed_targets_2025.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ingest"

# Seed projects in document order with their declared budgets (元).
SEED_BUDGETS = {
    "13022925P00JXC419898U": 20000.0,
    "13022925P00JXC419591N": 89000.0,
    "13022925P00016410007L": 20000.0,
    "13022925P00JXC419899F": 30000.0,
    "13022925P00JXC419896L": 20000.0,
}


@pytest.fixture(scope="module")
def seed() -> Declaration:
    return read_declared(SEED)


def assert_same_declaration(left: Declaration, right: Declaration) -> None:
    for name, frame in left.tables().items():
        assert_frame_equal(frame, right.tables()[name], check_exact=True)


def test_seed_schemas(seed: Declaration) -> None:
    """It should produce frames whose schemas are exactly the canonical ones."""
    for name, frame in seed.tables().items():
        assert frame.schema == schema.DECLARED_TABLES[name], name


def test_seed_unit(seed: Declaration) -> None:
    """It should find one unit, 480001, with its name and the year 2025 taken from the targets."""
    assert seed.units.rows() == [("480001", "玉田县石臼窝镇人民政府本级", 2025)]


def test_seed_projects(seed: Declaration) -> None:
    """It should read five projects with their budgets (179000 in all), funds and spending plans."""
    projects = seed.projects
    assert projects.height == 5
    assert dict(projects.select("project_code", "budget").iter_rows()) == SEED_BUDGETS
    assert projects["budget"].sum() == 179000.0
    assert projects["fiscal_funds"].to_list() == projects["budget"].to_list()
    assert projects["other_funds"].to_list() == [0.0] * 5
    plans = projects.select("plan_mar", "plan_jun", "plan_oct", "plan_dec").unique().rows()
    assert plans == [(25.0, 50.0, 75.0, 100.0)]
    first = projects.row(by_predicate=pl.col("project_code") == "13022925P00JXC419898U", named=True)
    assert first["project_name"] == "安保、环保、安全生产、应急、食药监管"
    assert first["purpose"] == "安保、环保、安全生产、应急、食药监管"
    assert first["goal"] == "1.安保、环保、安全生产、应急、食药监管"
    assert projects["unit_code"].unique().to_list() == ["480001"]


def test_seed_indicators(seed: Declaration) -> None:
    """It should read 45 indicators, nine per project, keyed by (project_code, seq) with indicator_id."""
    ind = seed.indicators
    assert ind.height == 45
    assert ind.group_by("project_code").len().sort("project_code")["len"].to_list() == [9] * 5
    assert ind.select(pl.struct("project_code", "seq").is_unique().all()).item()
    assert (ind["indicator_id"] == ind["project_code"] + "-" + ind["seq"].cast(pl.String).str.zfill(2)).all()
    assert ind["weight"].null_count() == 45
    assert ind["direction"].null_count() == 45  # the seed states no 指标方向/指标性质
    assert ind.null_count().drop("weight", "direction").sum_horizontal().item() == 0
    assert ind.group_by("level1").len().sort("level1").rows() == [("产出指标", 20), ("效益指标", 20), ("满意度指标", 5)]
    row = ind.row(by_predicate=pl.col("indicator_id") == "13022925P00JXC419898U-01", named=True)
    assert row == {
        "unit_code": "480001",
        "project_code": "13022925P00JXC419898U",
        "indicator_id": "13022925P00JXC419898U-01",
        "seq": 1,
        "level1": "产出指标",
        "level2": "数量指标",
        "level3": "安保环保安全生产食药监管项目金额",
        "description": "2万元",
        "target_text": "2万元",
        "basis": "项目库测算表",
        "weight": None,
        "direction": None,
    }


@pytest.mark.parametrize(
    ("project_code", "seqs", "level3", "level2s"),
    [
        ("13022925P00JXC419898U", [7, 8], "安监工作对社会影响", ["生态效益指标", "可持续影响指标"]),
        ("13022925P00JXC419899F", [6, 7], "党团妇建设是否社会群众受益，受益群众率", ["社会效益指标", "生态效益指标"]),
    ],
)
def test_seed_duplicate_level3(seed: Declaration, project_code: str, seqs: list[int], level3: str, level2s: list[str]) -> None:
    """It should keep a level-3 name that appears twice in a project as two rows."""
    rows = seed.indicators.filter(pl.col("project_code") == project_code, pl.col("level3") == level3)
    assert rows["seq"].to_list() == seqs
    assert rows["level2"].to_list() == level2s
    assert rows["level1"].to_list() == ["效益指标", "效益指标"]


def test_seed_department_goals(seed: Declaration) -> None:
    """It should keep part 1 as 1 overall goal, 10 分项 goals and 7 保障措施."""
    goals = seed.department_goals
    assert goals.group_by("section", maintain_order=True).len().rows() == [
        ("总体绩效目标", 1), ("分项绩效目标", 10), ("工作保障措施", 7)
    ]
    overall = goals.row(0, named=True)
    assert overall["goal"].startswith("贯彻落实党和国家在农村的方针政策和法律")
    sub = goals.filter(pl.col("section") == "分项绩效目标")
    assert sub["seq"].to_list() == list(range(1, 11))
    assert sub.row(0, named=True)["title"] == "党组织建设及党员教育管理"
    assert sub.row(0, named=True)["goal"].startswith("负责乡镇党组织建设")
    assert sub.row(0, named=True)["indicator"].startswith("负责综合协调、信息反馈")
    assert sub.row(9, named=True)["title"] == "城镇规划建设"
    assert sub["goal"].null_count() == 0 and sub["indicator"].null_count() == 0
    measures = goals.filter(pl.col("section") == "工作保障措施")
    assert measures["title"].to_list()[:2] == ["完善制度建设", "加强支出管理"]
    assert measures.row(0, named=True)["goal"].startswith("制定完善预算绩效管理制度")
    assert not any("bookmark" in (t or "") for t in goals["goal"].to_list())


def test_seed_year_override() -> None:
    """It should use the year given by the caller over the one found in the file."""
    assert read_declared(SEED, year=2026).units["year"].to_list() == [2026]


# Byte-level variants of the seed that must read exactly like the seed.
def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def _bom(text: str) -> bytes:
    return b"\xef\xbb\xbf" + text.encode("utf-8")


def _gb18030(text: str) -> bytes:
    return text.encode("gb18030")


def _trailing_spaces(text: str) -> bytes:
    return "\n".join(line + "  " if line.strip() else line for line in text.split("\n")).encode("utf-8")


def _no_bookmarks_no_part1(text: str) -> bytes:
    return text[text.index("第二部分"):].encode("utf-8")


@pytest.mark.parametrize("variant", [_crlf, _bom, _gb18030, _trailing_spaces], ids=lambda f: f.__name__)
def test_seed_encodings_and_line_endings(seed: Declaration, tmp_path: Path, variant) -> None:
    """It should read CRLF, BOM, GB18030 and trailing-space versions of the seed identically."""
    path = tmp_path / "seed.txt"
    path.write_bytes(variant(SEED.read_text(encoding="utf-8")))
    assert_same_declaration(read_declared(path), seed)


def test_seed_without_part1(seed: Declaration, tmp_path: Path) -> None:
    """It should read a dump without part 1 and leave department_goals empty."""
    path = tmp_path / "part2.txt"
    path.write_bytes(_no_bookmarks_no_part1(SEED.read_text(encoding="utf-8")))
    decl = read_declared(path)
    assert decl.department_goals.height == 0
    assert decl.department_goals.schema == schema.DEPARTMENT_GOALS
    assert_frame_equal(decl.indicators, seed.indicators)
    assert_frame_equal(decl.projects, seed.projects)


def test_seed_sniffed_without_extension(seed: Declaration, tmp_path: Path) -> None:
    """It should recognise the dump by its content, whatever the file is called."""
    path = tmp_path / "targets.dat"
    path.write_bytes(SEED.read_bytes())
    assert_same_declaration(read_declared(path), seed)


def test_variant_unit() -> None:
    """It should read another unit's table: 万元 amounts, 成本指标 level-1, 分值, missing 其他资金, 20xx年度."""
    decl = read_declared(FIXTURES / "variant_unit.txt")
    assert decl.units.rows() == [("510002", "某某县教育局", 2024)]
    projects = decl.projects.select("project_code", "budget", "fiscal_funds", "other_funds", "plan_mar", "purpose")
    assert projects.rows() == [
        ("51000224P0001A", 55000.0, 50000.0, 5000.0, 30.0, "用于家庭经济困难学生生活补助"),
        ("51000224P0002B", 120000.0, 120000.0, 0.0, 0.0, "维修两所学校校舍"),
    ]
    ind = decl.indicators
    assert ind.group_by("project_code", maintain_order=True).len().rows() == [("51000224P0001A", 5), ("51000224P0002B", 4)]
    assert ind["level1"].to_list()[:3] == ["产出指标", "产出指标", "成本指标"]
    assert ind["level2"].to_list()[:3] == ["数量指标", "数量指标", "经济成本指标"]  # blank 二级 carried down
    assert ind["weight"].to_list() == [30.0, 20.0, 20.0, 20.0, 10.0, 50.0, None, 40.0, 10.0]
    assert ind.filter(pl.col("seq") == 2, pl.col("project_code") == "51000224P0002B")["level1"].item() == "产出指标"


def test_year_required_when_absent(tmp_path: Path) -> None:
    """It should ask for --year when neither 20xx年度 nor a year in the targets is present."""
    text = (FIXTURES / "variant_unit.txt").read_text(encoding="utf-8")
    text = text.replace("2024年度", "").replace("2024年10月底前", "10月底前")
    path = tmp_path / "noyear.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_declared(path)
    assert "--year" in str(err.value) and str(path) in str(err.value)
    assert read_declared(path, year=2024).units["year"].to_list() == [2024]


def _row(*cells: str) -> str:
    return "".join(f"\t{c}\n" for c in cells) + "\n"


def test_other_layout(tmp_path: Path) -> None:
    """It should read a table laid out differently: unit and amount unit as paragraphs, name before code, plan inline."""
    text = (
        "2025年度项目绩效目标\n"
        "预算单位：620003 某某县卫生健康局\n"
        "单位：万元\n"
        "1.公共卫生服务项目绩效目标表\n"
        + _row("项目名称", "公共卫生服务")
        + _row("项目编码", "62000325P0009")
        + _row("年度预算数", "1,234.5")
        + _row("资金用途", "基本公共卫生服务补助")
        + _row("资金支出计划（%）", "3月底", "20%", "6月底", "50%", "10月底", "80%", "12月底", "100%")
        + _row("年度绩效目标", "提高基本公共卫生服务水平")
        + _row("一级指标", "二级指标", "三级指标", "指标值")
        + _row("产出指标", "数量指标", "建档人数", "≥1.2万人")
        + _row("", "时效指标", "完成时间", "12月底前")
        + _row("合计", "", "", "")
    )
    path = tmp_path / "layout.txt"
    path.write_text(text, encoding="utf-8")
    decl = read_declared(path)
    assert decl.units.rows() == [("620003", "某某县卫生健康局", 2025)]
    project = decl.projects.row(0, named=True)
    assert (project["project_code"], project["project_name"], project["budget"]) == ("62000325P0009", "公共卫生服务", 12345000.0)
    assert (project["fiscal_funds"], project["other_funds"]) == (0.0, 0.0)
    assert [project[k] for k in ("plan_mar", "plan_jun", "plan_oct", "plan_dec")] == [20.0, 50.0, 80.0, 100.0]
    assert (project["purpose"], project["goal"]) == ("基本公共卫生服务补助", "提高基本公共卫生服务水平")
    ind = decl.indicators
    assert ind.select("seq", "level1", "level2", "level3", "target_text").rows() == [
        (1, "产出指标", "数量指标", "建档人数", "≥1.2万人"),
        (2, "产出指标", "时效指标", "完成时间", "12月底前"),
    ]
    assert ind["description"].null_count() == 2 and ind["basis"].null_count() == 2
