"""Downloads are named in Chinese (issue 12, part 4): RFC 6266 `filename*` in UTF-8 with a
plain ASCII fallback, one helper for every file the system sends."""
from urllib.parse import quote, unquote

import pytest

from app.downloads import content_disposition


def test_a_download_carries_its_chinese_name_in_filename_star_and_an_ascii_fallback():
    header = content_disposition("化工赛道预赛成绩第1版.xlsx", "results-v1.xlsx")
    assert header == ("attachment; filename=\"results-v1.xlsx\"; filename*=UTF-8''"
                      + quote("化工赛道预赛成绩第1版.xlsx", safe=""))
    assert unquote(header.split("UTF-8''")[1]) == "化工赛道预赛成绩第1版.xlsx"


def test_characters_no_file_system_accepts_are_replaced_and_a_bad_fallback_is_refused():
    header = content_disposition('甲/乙:丙"丁.xlsx', "list.xlsx")
    assert unquote(header.split("UTF-8''")[1]) == "甲_乙_丙_丁.xlsx"
    with pytest.raises(ValueError):
        content_disposition("名单.xlsx", "().xlsx")

