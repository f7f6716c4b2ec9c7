"""A results version, once stored, stays as it is: the database itself refuses to change or delete
its rows and component points, to delete the version, or to delete a stage entry or a component
that a version names (triggers in place of foreign keys: see app/models/results.py). Anything
else of the stage can still change as before."""
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Component,
    ResultComponentScore,
    ResultRow,
    ResultsVersion,
    Stage,
    StageEntry,
)
from app.services import accounts, results
from tests.results_setup import score_preliminary

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture
def version() -> ResultsVersion:
    stage_id, _people = score_preliminary(seed=11)
    stored = results.create_version(db.session.get(Stage, stage_id),
                                    actor=accounts.get_by_username("organiser"))
    db.session.expire_all()
    return stored


def refused(statement, match: str) -> None:
    with pytest.raises(sa.exc.DBAPIError, match=match), db.session.begin_nested():
        db.session.execute(statement)


def test_a_version_keeps_one_line_per_entry_and_its_points_per_component(version):
    stage = version.stage
    places = set(db.session.scalars(sa.select(StageEntry.id).where(
        StageEntry.stage_id == stage.id)))
    rows = db.session.execute(sa.select(ResultRow.id, ResultRow.stage_entry_id).where(
        ResultRow.version_id == version.id)).all()
    assert {entry for _id, entry in rows} == places and len(rows) == len(places)
    parts = db.session.execute(sa.select(ResultComponentScore.row_id,
                                         ResultComponentScore.component_id)
                               .where(ResultComponentScore.row_id.in_([r for r, _e in rows])))
    assert sorted(parts) == sorted((r, c.id) for r, _e in rows for c in stage.components)
    row = db.session.get(ResultRow, rows[0][0])  # the relationships work without foreign keys
    assert row.version is version and row.stage_entry.id == rows[0][1]
    assert {part.component_id for part in row.components} == {c.id for c in stage.components}
    assert all(part.row is row for part in row.components)


def _rows(version):
    return ResultRow.version_id == version.id


def _parts(version):
    return ResultComponentScore.row_id.in_(sa.select(ResultRow.id).where(_rows(version)))


@pytest.mark.parametrize("change", [
    lambda v: sa.update(ResultRow).where(_rows(v)).values(total=None),
    lambda v: sa.update(ResultRow).where(_rows(v)).values(rank=1),
    lambda v: sa.delete(ResultRow).where(_rows(v)),
    lambda v: sa.update(ResultComponentScore).where(_parts(v)).values(points=None),
    lambda v: sa.delete(ResultComponentScore).where(_parts(v)),
], ids=["row-total", "row-rank", "row-delete", "points-update", "points-delete"])
def test_the_database_refuses_to_change_a_stored_version(version, change):
    before = results.version_table(version)
    refused(change(version), "immutable")
    assert results.version_table(version).equals(before)


def test_the_database_refuses_to_delete_a_version(version):
    refused(sa.delete(ResultsVersion).where(ResultsVersion.id == version.id), "immutable")
    version.reason = "状态与说明仍可改"  # the version's own row is not frozen (status, publishing)
    db.session.flush()


def test_a_stage_entry_or_component_a_version_names_cannot_be_deleted(version):
    place_id = db.session.scalar(sa.select(ResultRow.stage_entry_id).where(
        ResultRow.version_id == version.id).limit(1))
    refused(sa.delete(StageEntry).where(StageEntry.id == place_id), "named in a results version")
    component = version.stage.components[0]
    refused(sa.delete(Component).where(Component.id == component.id),
            "named in a results version")


def test_a_stage_entry_no_version_names_can_still_be_deleted(version):
    stage = version.stage
    named = sa.select(ResultRow.stage_entry_id).where(ResultRow.version_id == version.id)
    later = db.session.scalar(sa.select(StageEntry.entry_id).where(
        StageEntry.stage_id != stage.id, StageEntry.entry_id.not_in(
            sa.select(StageEntry.entry_id).where(StageEntry.id.in_(named)))).limit(1))
    assert later is not None
    place = StageEntry(stage_id=stage.id, entry_id=later)  # placed after the version
    db.session.add(place)
    db.session.flush()
    db.session.execute(sa.delete(StageEntry).where(StageEntry.id == place.id))
    assert db.session.get(StageEntry, place.id) is None
