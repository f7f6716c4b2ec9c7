"""What the charts draw: score distributions, judge severity, entries and advancers per
enterprise and city, and the ability profile. Pages only draw what these return.

Every number is exact: counts are integers, points and percentages are Decimals rounded half-up
(四舍五入) to the stage's decimals once, and are handed to the browser as decimal strings.
Labels are translated here, so the browser's script holds no text of its own. Nothing returned
carries a name: judges are named on their own panel's chart only, contestants never.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

import scoring as sc
from app.extensions import db
from app.models import (
    Ability,
    AdvancementEntry,
    AdvancementEntryStatus,
    AdvancementList,
    Component,
    ComponentScore,
    Enterprise,
    Entry,
    ItemKind,
    ListStatus,
    ResultRow,
    ResultsVersion,
    ScoreSheet,
    ScoreSource,
    SheetStatus,
    Stage,
    StageEntry,
    StageEntryStatus,
)
from app.services import ServiceError

BINS = 10


def _text(value: Decimal) -> str:
    return format(value, "f")


def _plain(value: Decimal) -> str:
    """30.00 → "30", 7.50 → "7.5": bin edges as a person writes them."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def half_up(value: Fraction, decimals: int) -> Decimal:
    """An exact fraction rounded half-up (四舍五入) to ``decimals`` places."""
    scaled = value * 10 ** decimals
    sign = -1 if scaled < 0 else 1
    whole, rest = divmod(abs(scaled.numerator), scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    return Decimal(sign * whole).scaleb(-decimals)


# --- distributions -----------------------------------------------------------------------------

def histogram(values: list[Decimal], maximum: Decimal) -> list[tuple[str, int]]:
    """Counts in ten equal bins from 0 to ``maximum``: bin k holds k·w ≤ v < (k+1)·w with
    w = maximum / 10, and the last bin also holds the maximum itself ("90–100" includes 100)."""
    counts = [0] * BINS
    top = Fraction(maximum)
    for value in values:
        index = int(Fraction(value) * BINS // top)
        counts[min(max(index, 0), BINS - 1)] += 1
    width = maximum / BINS  # exact: a division by ten
    return [(f"{_plain(width * k)}–{_plain(width * (k + 1))}", counts[k]) for k in range(BINS)]


def _bar(title: str, categories: list[str], series: list[dict], *, x_label: str = "",
         y_label: str = "", horizontal: bool = False, note: str | None = None) -> dict:
    return {"type": "bar", "title": title, "categories": categories, "series": series,
            "x_label": x_label, "y_label": y_label, "horizontal": horizontal, "note": note}


def _distribution(title: str, values: list[Decimal], maximum: Decimal, x_label: str,
                  note: str | None = None) -> dict:
    bins = histogram(values, maximum)
    return _bar(title, [label for label, _n in bins],
                [{"name": _("Contestants"), "data": [n for _label, n in bins]}],
                x_label=x_label, y_label=_("Contestants"), note=note)


def latest_version(stage: Stage) -> ResultsVersion | None:
    """The stage's newest results version, draft or published (organisers see both)."""
    return db.session.scalar(sa.select(ResultsVersion).where(ResultsVersion.stage_id == stage.id)
                             .order_by(ResultsVersion.number.desc()).limit(1))


def totals_distribution(stage: Stage) -> dict:
    """How the totals of the stage's newest results version spread over 0–100."""
    version = latest_version(stage)
    if version is None:
        return _distribution(_("Totals"), [], Decimal(100), _("Total score"),
                             note=_("No results version yet."))
    totals = list(db.session.scalars(sa.select(ResultRow.total).where(
        ResultRow.version_id == version.id, ResultRow.total.is_not(None))))
    top = max([Decimal(100), *totals])
    from app.labels import VERSION_STATUS

    return _distribution(_("Totals, version %(n)d (%(status)s)", n=version.number,
                           status=VERSION_STATUS[version.status]), totals, top, _("Total score"))


def component_distribution(component: Component) -> dict:
    """How a component's points spread over 0 to its maximum: the stored component scores
    (signed off or imported); before a judged component is signed off, its points as
    aggregated so far from the submitted sheets."""
    points = list(db.session.scalars(sa.select(ComponentScore.points).where(
        ComponentScore.component_id == component.id, ComponentScore.points.is_not(None))))
    note = None
    if not points and component.source == ScoreSource.JUDGES and not component.signed_off_at:
        from app.services import judging

        aggregated = judging.review(component).aggregated
        if not aggregated.empty:
            points = [p for p in aggregated["points"] if p is not None]
            note = _("Not signed off yet: the points as aggregated so far.")
    top = max([component.maximum, *points])
    return _distribution(_("%(name)s: points (maximum %(max)s)", name=component.name,
                           max=_plain(component.maximum)), points, top, _("Points"),
                         note=note if points else _("No scores yet."))


def judge_severity(component: Component) -> dict:
    """Each judge's severity on a judged component (scoring.judge_effects): the mean deviation
    from the panel's median on the works they marked (negative: harsher), and its spread."""
    from app.services import judging

    review = judging.review(component)
    names = {u.username: u.display_name for u in review.judges}
    effects = review.effects
    rows = [] if effects is None else list(effects.itertuples(index=False))
    return _bar(_("Judge severity: %(name)s", name=component.name),
                [names.get(r.judge_id, str(r.judge_id)) for r in rows],
                [{"name": _("Severity (mean deviation from the panel)"),
                  "data": [_text(r.severity) for r in rows]},
                 {"name": _("Consistency (spread of deviations)"),
                  "data": [_text(r.consistency_sd) for r in rows]}],
                y_label=_("Points"),
                note=None if rows else _("Judge effects need works marked by two judges or more."))


# --- entries and advancers ---------------------------------------------------------------------

def current_list(stage: Stage) -> AdvancementList | None:
    """The stage's advancement list in use (draft, under notice or final), if any."""
    return db.session.scalar(sa.select(AdvancementList).where(
        AdvancementList.stage_id == stage.id,
        AdvancementList.status.in_([ListStatus.DRAFT, ListStatus.NOTICE, ListStatus.FINAL]))
        .order_by(AdvancementList.id.desc()).limit(1))


def entries_and_advancers(stage: Stage, by: str) -> dict:
    """Contestants in the stage (withdrawn ones left out) and advancers on its current list,
    per enterprise or per city (the entry's city, else the enterprise's), most entries first."""
    if by == "enterprise":
        group = Enterprise.name
        title = _("Entries and advancers per enterprise")
    else:
        group = sa.func.coalesce(Entry.city, Enterprise.city)
        title = _("Entries and advancers per city")

    def counts(query):
        return dict(db.session.execute(
            query.join(Entry, Entry.id == StageEntry.entry_id)
            .join(Enterprise, Enterprise.id == Entry.enterprise_id).group_by(group)).all())

    entries = counts(sa.select(group, sa.func.count(StageEntry.id)).where(
        StageEntry.stage_id == stage.id, StageEntry.status != StageEntryStatus.WITHDRAWN))
    listing = current_list(stage)
    advancers = counts(sa.select(group, sa.func.count(AdvancementEntry.id))
                       .join(StageEntry, StageEntry.id == AdvancementEntry.stage_entry_id)
                       .where(AdvancementEntry.list_id == listing.id,
                              AdvancementEntry.status == AdvancementEntryStatus.ADVANCING)
                       ) if listing else {}
    order = sorted(entries, key=lambda k: (-entries[k], -advancers.get(k, 0), k or ""))
    series = [{"name": _("Entries"), "data": [entries[k] for k in order]}]
    if listing is not None:
        series.append({"name": _("Advancers"), "data": [advancers.get(k, 0) for k in order]})
    return _bar(title, [k or _("Not given") for k in order], series,
                x_label=_("Contestants"), horizontal=by == "enterprise",
                note=None if listing else _("No advancement list yet."))


# --- abilities ---------------------------------------------------------------------------------

@dataclass
class AbilityTally:
    """Per stage entry and ability: points achieved and points available on the marking items
    and exam questions that carry the ability."""

    achieved: dict[int, dict[int, Decimal]]
    available: dict[int, dict[int, Decimal]]

    def percent(self, entry_id: int, ability_id: int, decimals: int) -> Decimal | None:
        available = self.available.get(entry_id, {}).get(ability_id)
        if not available:
            return None
        achieved = self.achieved[entry_id][ability_id]
        return half_up(Fraction(achieved) * 100 / Fraction(available), decimals)


def ability_tally(stage: Stage) -> AbilityTally:
    """Add up, for every contestant of the stage, the points of each ability.

    Judged components: every submitted sheet's item points as the scoring rules compute them
    (score_sheets.state), against the item's maximum, summed over the judges who marked the work
    (so the share is the judges' mean). Disqualifying items carry no points and are left out.
    Imported components with an answer key: each question's points from the imported answers
    (details["question_points"]) against the question's points.
    """
    from app.services import score_sheets

    achieved: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    available: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for component in stage.components:
        if component.source == ScoreSource.JUDGES:
            tagged = {i.code: i for i in score_sheets.marking_items(component)
                      if i.ability_id is not None and i.kind != ItemKind.DISQUALIFYING}
            if not tagged:
                continue
            sheets = db.session.scalars(
                sa.select(ScoreSheet).where(ScoreSheet.component_id == component.id,
                                            ScoreSheet.status == SheetStatus.SUBMITTED)
                .options(selectinload(ScoreSheet.marks)).execution_options(yield_per=500))
            for sheet in sheets:
                try:
                    state = score_sheets.state(sheet, component)
                except sc.ScoringError:  # marks the scheme no longer takes: not counted
                    continue
                if not state.complete:
                    continue
                for code, item in tagged.items():
                    achieved[sheet.stage_entry_id][item.ability_id] += state.item_points[code]
                    available[sheet.stage_entry_id][item.ability_id] += item.maximum or 0
        else:
            questions = {str(q.number): q for q in component.questions
                         if q.ability_id is not None}
            if not questions:
                continue
            rows = db.session.execute(
                sa.select(ComponentScore.stage_entry_id, ComponentScore.details)
                .where(ComponentScore.component_id == component.id)
                .execution_options(yield_per=1000))
            for entry_id, details in rows:
                earned = (details or {}).get("question_points") or {}
                for number, question in questions.items():
                    if number in earned:
                        achieved[entry_id][question.ability_id] += Decimal(str(earned[number]))
                        available[entry_id][question.ability_id] += question.points
    return AbilityTally(achieved, available)


def _abilities(stage: Stage) -> list[Ability]:
    return list(db.session.scalars(sa.select(Ability).where(
        Ability.contest_id == stage.track.contest_id).order_by(Ability.sort_order, Ability.id)))


def ability_averages(stage: Stage, tally: AbilityTally, entry_ids: set[int] | None = None
                     ) -> dict[int, Decimal]:
    """Per ability, the mean of the contestants' percentages (each rounded as shown to its
    contestant), rounded half-up once more: reproducible from the rounded percentages."""
    decimals = stage.decimals
    averages = {}
    for ability in _abilities(stage):
        shares = [tally.percent(e, ability.id, decimals) for e in tally.available
                  if entry_ids is None or e in entry_ids]
        shares = [s for s in shares if s is not None]
        if shares:
            averages[ability.id] = half_up(sum(map(Fraction, shares), Fraction(0))
                                           / len(shares), decimals)
    return averages


def _active_entries(stage: Stage) -> set[int]:
    return set(db.session.scalars(sa.select(StageEntry.id).where(
        StageEntry.stage_id == stage.id, StageEntry.status != StageEntryStatus.WITHDRAWN)))


def _profile(title: str, abilities: list[Ability], series: list[tuple[str, dict]],
             note: str | None = None) -> dict:
    """A radar of the abilities measured (a bar chart when fewer than three are)."""
    shown = [a for a in abilities if any(a.id in values for _n, values in series)]
    if not shown and note is None:
        note = _("No marking item or question of this stage is tagged with an ability yet.")
    return {"type": "radar" if len(shown) >= 3 else "bar", "title": title,
            "categories": [a.name for a in shown], "maximum": 100, "unit": "%",
            "series": [{"name": name, "data": [_text(values[a.id]) if a.id in values else None
                                               for a in shown]} for name, values in series],
            "note": note}


def stage_ability_profile(stage: Stage) -> dict:
    """For organisers: the stage's mean percentage per ability over its contestants, and over
    the advancers of its current list when there is one."""
    tally = ability_tally(stage)
    active = _active_entries(stage)
    series = [(_("All contestants"), ability_averages(stage, tally, active))]
    listing = current_list(stage)
    if listing is not None:
        going = {e.stage_entry_id for e in listing.entries
                 if e.status == AdvancementEntryStatus.ADVANCING}
        series.append((_("Advancing contestants"), ability_averages(stage, tally, going)))
    return _profile(_("Ability profile: %(track)s · %(stage)s", track=stage.track.name,
                      stage=stage.name), _abilities(stage), series)


def contestant_ability_profile(entry: Entry, stage: Stage) -> dict | None:
    """A contestant's percentage per ability against the track's average (the contestants of
    the published version), only once the stage's results are published and only while the
    scores are those the published version was computed from. None: nothing to show."""
    from app.services import results

    version = results.latest_published(stage)
    if version is None:
        return None
    place = db.session.scalar(sa.select(StageEntry).where(StageEntry.stage_id == stage.id,
                                                          StageEntry.entry_id == entry.id))
    if place is None:
        return None
    ranked = set(db.session.scalars(sa.select(ResultRow.stage_entry_id).where(
        ResultRow.version_id == version.id)))
    if place.id not in ranked:
        return None
    title = _("Abilities: %(stage)s", stage=stage.name)
    try:
        current = results.stage_inputs(stage).fingerprint
    except ServiceError:
        current = None
    if current != version.fingerprint:  # corrected scores not yet published: show none of them
        return _profile(title, [], [], note=_("The ability chart returns when the corrected "
                                              "results are published."))
    tally = ability_tally(stage)
    mine = {a.id: p for a in _abilities(stage)
            if (p := tally.percent(place.id, a.id, stage.decimals)) is not None}
    return _profile(title, _abilities(stage),
                    [(_("You"), mine),
                     (_("Track average"), ability_averages(stage, tally, ranked))])
