"""What every exported sheet must look like when another library (openpyxl) opens it."""


def assert_sheet_layout(sheet, *, orientation: str, columns: int) -> None:
    """A merged title over every column, the header frozen below it and repeated on every
    printed page, A4 in ``orientation`` fitted to one page wide, page numbers in the footer."""
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert f"A1:{_letter(columns)}1" in merged and sheet.cell(row=1, column=1).value
    assert sheet.freeze_panes == "A3"
    assert sheet.print_title_rows == "$2:$2"
    setup = sheet.page_setup
    assert setup.orientation == orientation and setup.paperSize == 9  # 9 is A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert setup.fitToWidth in (None, 1) and setup.fitToHeight == 0  # absent means 1 in OOXML
    assert "&P" in sheet.oddFooter.center.text


def _letter(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)
