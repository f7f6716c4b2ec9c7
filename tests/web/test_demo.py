"""The demo contest: what it contains, and that loading it again adds nothing."""
from collections import Counter
from decimal import Decimal

import sqlalchemy as sa
from stdnum.cn import ric

from app.extensions import Base
from app.models import Ability, Contest, Contestant, Entry, EntryStatus, Role, Stage, Track, User
from tests.conftest import flask_cli


def _row_counts(session) -> dict[str, int]:
    return {table.name: session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in Base.metadata.sorted_tables}


def test_demo_has_the_seven_tracks_with_their_codes(db_session):
    codes = db_session.scalars(sa.select(Track.code).join(Contest)
                               .where(Contest.code == "jstl-2025").order_by(Track.sort_order)).all()
    assert codes == ["chem", "steel", "machinery", "textile", "new-energy", "construction", "power"]


def test_demo_has_the_ten_abilities(db_session):
    names = db_session.scalars(sa.select(Ability.name).order_by(Ability.sort_order)).all()
    assert names == ["组织管理", "沟通协调", "持续学习", "团队文化建设", "人才培育",
                     "开拓创新", "问题解决", "数智化应用", "职业素养", "专业技术"]


def test_chemical_track_stages_carry_the_rules(db_session):
    stages = db_session.scalars(sa.select(Stage).join(Track).where(Track.code == "chem")
                                .order_by(Stage.seq)).all()
    prelim, advanced, final = stages
    assert {c.code: c.weight for c in prelim.components} == {
        "learning": Decimal("40"), "theory": Decimal("60")}
    assert (prelim.quota, prelim.per_enterprise_cap, prelim.notice_days) == (60, 5, 7)
    weights = {c.code: c.weight for c in advanced.components}
    assert set(weights) == {"theory", "practical", "twin"} and sum(weights.values()) == 100
    assert advanced.quota == 10
    assert final.kind.value == "final"
    practical = next(c for c in advanced.components if c.code == "practical")
    items = [i for i in practical.items if i.node.value == "item"]
    assert {i.kind.value for i in items} == {"measurement", "judgement", "deduction",
                                            "disqualifying"}
    # Deduction items hold their points until deducted, so they count towards the maximum.
    assert sum(i.maximum for i in items) == practical.maximum


def test_chemical_track_draws_on_27_enterprises_16_chemical_11_biopharma(db_session):
    rows = db_session.execute(
        sa.select(Entry.enterprise_id, Entry.enterprise_category).join(Track)
        .where(Track.code == "chem").distinct()).all()
    assert Counter(category for _id, category in rows) == {"化工": 16, "生物医药": 11}


def test_chemical_track_has_enterprises_over_the_cap_of_five(db_session):
    counts = db_session.execute(
        sa.select(Entry.enterprise_id, sa.func.count()).join(Track)
        .where(Track.code == "chem", Entry.status == EntryStatus.APPROVED)
        .group_by(Entry.enterprise_id)).all()
    assert sum(n for _e, n in counts) >= 100
    assert any(n > 5 for _e, n in counts)


def test_every_demo_contestant_has_a_valid_resident_id_number(db_session):
    for number, gender, born in db_session.execute(
            sa.select(Contestant.id_number, Contestant.gender, Contestant.birth_date)):
        assert ric.is_valid(number), number
        assert ric.get_birth_date(number) == born
        assert (int(number[16]) % 2 == 1) == (gender.value == "male")


def test_approved_entries_have_exam_numbers_and_others_do_not(db_session):
    for status, exam_number in db_session.execute(sa.select(Entry.status, Entry.exam_number)):
        assert (exam_number is not None) == (status == EntryStatus.APPROVED)


def test_demo_has_an_account_for_every_role(db_session):
    roles = set(db_session.scalars(sa.select(User.role)))
    assert roles == set(Role)


def test_loading_the_demo_again_adds_nothing(database_url, db_session):
    before = _row_counts(db_session)
    result = flask_cli(database_url, "demo", "load", "--configuration-only")
    assert "nothing added" in result.stdout
    assert "organiser        Organiser2025" in result.stdout  # `make run` always shows them
    db_session.rollback()
    assert _row_counts(db_session) == before


def test_dashboard_shows_each_tracks_entries_by_status(signed_in, db_session):
    page = signed_in("organiser").get("/admin/").get_data(as_text=True)
    table = page.split('id="entries-by-status"')[1].split("</table>")[0]
    chem_row = table.split("化工（生物医药）")[1].split("</tr>")[0]
    cells = [int(c.split("</td>")[0]) for c in chem_row.split("<td>")[1:]]
    expected = [db_session.scalar(sa.select(sa.func.count()).select_from(Entry).join(Track)
                                  .where(Track.code == "chem", Entry.status == status))
                for status in EntryStatus]
    assert cells == expected + [180]
