"""Registration sheets as enterprises really send them, written with openpyxl (the importer
reads with calamine, a different library), and valid resident ID numbers for them."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from functools import cache

import openpyxl
from stdnum.cn import ric
from stdnum.exceptions import ValidationError


@cache
def region_code(prefecture: str, year: int) -> str:
    """The first county code of ``prefecture`` that existed in ``year`` (stdnum's GB/T 2260)."""
    for county in range(1, 100):
        code = f"{prefecture}{county:02d}"
        body = f"{code}{year}0101001"
        try:
            ric.validate(body + ric.calc_check_digit(body + "0"))
        except (ValidationError, KeyError):
            continue
        return code
    raise AssertionError(f"no county of {prefecture} in {year}")


def id_number(born: date, seq: int = 1, *, male: bool = True, prefecture: str = "3201") -> str:
    """A valid 18-character ID number; ``seq`` makes people born the same day different."""
    order = (seq % 100) * 10 + ((seq // 100) % 5) * 2 + (1 if male else 0)
    body = f"{region_code(prefecture, born.year)}{born:%Y%m%d}{order:03d}"
    return body + ric.calc_check_digit(body + "0")


HEADER = ["序号", "姓名", "性别", "身份证号码", "手机号码", "工作单位", "单位类别", "设区市",
          "岗位", "班组名称", "担任班组长年限", "技能等级", "荣誉"]


def person(n: int, *, male: bool = True, enterprise: str = "金陵石化公司",
           born: date = date(1985, 3, 1), **changes) -> list:
    """One good data row (without 序号) for person number ``n``."""
    row = {"姓名": f"张{n:03d}", "性别": "男" if male else "女",
           "身份证号码": id_number(born, n, male=male), "手机号码": f"138{n:08d}",
           "工作单位": enterprise, "单位类别": "化工", "设区市": "南京市", "岗位": "操作工",
           "班组名称": f"第{n}班组", "担任班组长年限": 5, "技能等级": "高级工", "荣誉": ""}
    row.update(changes)
    return [row[h] for h in HEADER[1:]]


@dataclass
class Sheet:
    """A registration workbook: title, 填报单位 and header rows, data, a 合计 row and notes."""

    rows: list[list] = field(default_factory=list)
    header: list[str] = field(default_factory=lambda: list(HEADER))
    title: bool = True
    filler: bool = True
    totals: bool = True
    notes: bool = True
    blank_after: tuple[int, ...] = ()  # blank rows after these data rows (0-based)
    # openpyxl stamps the save time into the file: keep the first bytes, so "the same file"
    # stays byte for byte the same.
    _content: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def first_data_row(self) -> int:
        """The Excel row number of the first data row."""
        return 1 + int(self.title) + int(self.filler) + 1

    def excel_row(self, index: int) -> int:
        """The Excel row number of data row ``index`` (0-based), counting blank rows."""
        return self.first_data_row + index + sum(1 for b in self.blank_after if b < index)

    def xlsx(self) -> bytes:
        if self._content is None:
            self._content = self._write()
        return self._content

    def _write(self) -> bytes:
        book = openpyxl.Workbook()
        ws = book.active
        ws.title = "报名表"
        width = len(self.header)
        r = 1
        if self.title:
            ws.cell(r, 1, "2025年江苏省班组长数字能力大赛 化工（生物医药）赛道 报名汇总表")
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
            r += 1
        if self.filler:
            ws.cell(r, 1, "填报单位（盖章）：江苏省机冶石化工会")
            ws.cell(r, width - 1, "填报日期：2025年3月1日")
            r += 1
        for c, name in enumerate(self.header, start=1):
            ws.cell(r, c, name)
        r += 1
        for i, values in enumerate(self.rows):
            ws.cell(r, 1, i + 1)
            for c, value in enumerate(values, start=2):
                if value is not None and value != "":
                    ws.cell(r, c, value)
            r += 1
            if i in self.blank_after:
                r += 1
        if self.totals:
            ws.cell(r, 1, "合计")
            ws.cell(r, 3, f"{len(self.rows)}人")
            r += 1
        if self.notes:
            ws.cell(r, 1, "注：1. 身份证号码请设置为文本格式；")
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
            ws.cell(r + 1, 1, "2. 担任班组长年限须满2年。")
            r += 2
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()
