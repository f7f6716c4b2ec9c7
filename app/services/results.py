"""Results and advancement: a stage's scores become an immutable results version, a published
version becomes an advancement list under public notice, and the final list fills the next stage.

Every number comes from scoring/; published rows are never changed — a correction is a new
version, and the difference from the previous one is shown line by line.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext as _

import scoring as sc
from app.extensions import db
from app.models import (
    AdvancementEntry,
    AdvancementEntryStatus,
    AdvancementList,
    Appeal,
    Component,
    ComponentScore,
    Entry,
    EntryStatus,
    ListStatus,
    Objection,
    RecheckRound,
    ResultComponentScore,
    ResultRow,
    ResultsVersion,
    RulingStatus,
    ScoreSource,
    Stage,
    StageEntry,
    StageEntryStatus,
    User,
    VersionStatus,
    utcnow,
)
from app.services import FieldErrors, ServiceError, audit

# --- inputs ------------------------------------------------------------------------------------

@dataclass
class StageInputs:
    rule: sc.StageRule
    points: pd.DataFrame  # entry_id, component, points, complete, n_judges, disqualified, dq_reason
    entries: pd.DataFrame  # entry_id, enterprise, approved, disqualified, unranked, time_used
    fingerprint: str


def names_revealed(stage: Stage) -> bool:
    """Names stand next to scores only when every judged component has been decrypted."""
    from app.services.judging import is_decrypted

    return all(is_decrypted(c) for c in stage.components if c.source == ScoreSource.JUDGES)


def readiness(stage: Stage) -> list[str]:
    """Why the stage's results cannot be computed yet (empty: they can)."""
    problems = []
    for component in stage.components:
        if component.source == ScoreSource.JUDGES and component.signed_off_at is None:
            problems.append(_("%(name)s has not been signed off by the chief judge.",
                              name=component.name))
        elif component.source == ScoreSource.IMPORT and not db.session.scalar(
                sa.select(ComponentScore.id).where(ComponentScore.component_id == component.id)
                .limit(1)):
            problems.append(_("%(name)s has no imported results yet.", name=component.name))
    if not stage.components:
        problems.append(_("The stage has no components."))
    return problems


def stage_inputs(stage: Stage) -> StageInputs:
    """The stage's rules, component scores and entries, as scoring/ takes them."""
    from app.services.stages import scoring_rule

    try:
        rule = scoring_rule(stage)
    except sc.ScoringError as error:
        raise ServiceError(str(error)) from None
    codes = {c.id: c.code for c in stage.components}
    score_rows = db.session.execute(
        sa.select(ComponentScore.stage_entry_id, ComponentScore.component_id,
                  ComponentScore.points, ComponentScore.complete, ComponentScore.judges,
                  ComponentScore.disqualified, ComponentScore.disqualified_reason,
                  ComponentScore.time_used_seconds)
        .where(ComponentScore.component_id.in_(list(codes)))).all()
    points = pd.DataFrame(
        [(r[0], codes[r[1]], r[2], r[3], r[4], r[5], r[6]) for r in score_rows],
        columns=["entry_id", "component", "points", "complete", "n_judges", "disqualified",
                 "dq_reason"])
    time_used: dict[int, int] = {}
    for r in score_rows:
        if r[7] is not None:
            time_used[r[0]] = time_used.get(r[0], 0) + r[7]
    people = db.session.execute(
        sa.select(StageEntry.id, Entry.enterprise_id, Entry.status, StageEntry.status,
                  Entry.unranked, StageEntry.disqualified_reason)
        .join(Entry, Entry.id == StageEntry.entry_id).where(StageEntry.stage_id == stage.id)
        .order_by(StageEntry.id)).all()
    entries = pd.DataFrame({
        "entry_id": [p[0] for p in people],
        "enterprise": [f"e{p[1]}" for p in people],
        "approved": [p[2] == EntryStatus.APPROVED for p in people],
        "disqualified": [p[3] == StageEntryStatus.DISQUALIFIED for p in people],
        "unranked": [bool(p[4]) for p in people],
        "flag_reason": [p[5] for p in people],
        "time_used": [time_used.get(p[0]) for p in people],
    })
    entries = entries[[p[3] != StageEntryStatus.WITHDRAWN for p in people]]
    points = points[points["entry_id"].isin(set(entries["entry_id"]))]
    return StageInputs(rule, points, entries, _fingerprint(stage, points, entries))


def _fingerprint(stage: Stage, points: pd.DataFrame, entries: pd.DataFrame) -> str:
    """SHA-256 of everything a results version is computed from: settings, scores, entries."""
    digest = hashlib.sha256()
    digest.update(json.dumps(settings_snapshot(stage), sort_keys=True, default=str).encode())
    for frame in (points.sort_values(["entry_id", "component"]),
                  entries.sort_values("entry_id")):
        digest.update(frame.to_csv(index=False).encode())
    return digest.hexdigest()


def settings_snapshot(stage: Stage) -> dict:
    return {
        "decimals": stage.decimals, "quota": stage.quota,
        "per_enterprise_cap": stage.per_enterprise_cap,
        "cutoff_tie_policy": stage.cutoff_tie_policy.value, "tie_breaks": stage.tie_breaks,
        "components": [{"code": c.code, "name": c.name, "weight": str(c.weight),
                        "maximum": str(c.maximum), "aggregation": c.aggregation.value,
                        "min_percent": str(c.min_percent) if c.min_percent is not None else None}
                       for c in stage.components],
    }


def compute(stage: Stage) -> tuple[pd.DataFrame, StageInputs]:
    """The stage's results table (scoring.compute_results) from its stored scores."""
    inputs = stage_inputs(stage)
    if inputs.entries.empty:
        raise ServiceError(_("The stage has no contestants."))
    try:
        table = sc.compute_results(inputs.rule, inputs.points, inputs.entries)
    except sc.ScoringError as error:
        raise ServiceError(str(error)) from None
    return table, inputs


# --- versions ----------------------------------------------------------------------------------

def create_version(stage: Stage, *, actor: User, reason: str | None = None,
                   appeals: Sequence[Appeal] = ()) -> ResultsVersion:
    """Compute the stage's results and keep them as a new draft version (nothing published).

    ``appeals``: upheld appeals whose corrections this version carries; each is linked to it
    and named in its reason."""
    from app.services import appeals as appeal_service

    problems = readiness(stage)
    if problems:
        raise ServiceError("；".join(problems), code="conflict")
    if appeals:
        appeal_service.check_for_version(stage, appeals)
        reason = appeal_service.reason_with(appeals, reason)
    table, inputs = compute(stage)
    number = (db.session.scalar(sa.select(sa.func.max(ResultsVersion.number))
                                .where(ResultsVersion.stage_id == stage.id)) or 0) + 1
    previous = latest_published(stage)
    version = ResultsVersion(stage_id=stage.id, number=number, status=VersionStatus.DRAFT,
                             reason=(reason or "").strip() or None,
                             previous_id=previous.id if previous else None,
                             fingerprint=inputs.fingerprint, settings=settings_snapshot(stage),
                             created_by_id=actor.id)
    db.session.add(version)
    db.session.flush()
    _store_rows(version, stage, table)
    if appeals:
        appeal_service.link(version, appeals, actor=actor)
    audit.record("results.compute", version, f"{stage.track.name}·{stage.name} 成绩第{number}版（草稿）",
                 after={"rows": len(table), "fingerprint": inputs.fingerprint},
                 reason=version.reason, actor=actor, stage_id=stage.id)
    return version


def _store_rows(version: ResultsVersion, stage: Stage, table: pd.DataFrame) -> None:
    awards = _awards(stage, table)
    rows = [{"version_id": version.id, "stage_entry_id": int(r.entry_id),
             "total": r.total, "rank": None if pd.isna(r.rank) else int(r.rank),
             "tie_break": r.tie_break, "status": r.status, "eligible": bool(r.eligible),
             "reason": r.reason, "award": awards.get(int(r.entry_id))}
            for r in table.itertuples(index=False)]
    if rows:
        db.session.execute(sa.insert(ResultRow), rows)
    ids = dict(db.session.execute(sa.select(ResultRow.stage_entry_id, ResultRow.id)
                                  .where(ResultRow.version_id == version.id)).all())
    parts = []
    for component in stage.components:
        points = table[f"{component.code}_points"].tolist()
        percent = table[f"{component.code}_percent"].tolist()
        for entry_id, p, q in zip(table["entry_id"].tolist(), points, percent, strict=True):
            parts.append({"row_id": ids[int(entry_id)], "component_id": component.id,
                          "points": p, "percent": q})
    if parts:
        db.session.execute(sa.insert(ResultComponentScore), parts)


def _awards(stage: Stage, table: pd.DataFrame) -> dict[int, str]:
    """Prizes by rank and count from the stage's award settings (first prize to the top ranks)."""
    awards: dict[int, str] = {}
    ranked = table[table["rank"].notna()].sort_values("rank")
    start = 0
    for award in stage.awards or []:
        count = int(award.get("count") or 0)
        for entry_id in ranked["entry_id"].iloc[start:start + count]:
            awards[int(entry_id)] = award.get("name")
        start += count
    return awards


def latest_published(stage: Stage) -> ResultsVersion | None:
    return db.session.scalar(sa.select(ResultsVersion).where(
        ResultsVersion.stage_id == stage.id, ResultsVersion.status == VersionStatus.PUBLISHED)
        .order_by(ResultsVersion.number.desc()).limit(1))


def open_recheck(version: ResultsVersion) -> RecheckRound | None:
    return db.session.scalar(sa.select(RecheckRound).where(
        RecheckRound.version_id == version.id, RecheckRound.closed_at.is_(None)).limit(1))


def publish(version: ResultsVersion, *, actor: User) -> None:
    """Publish a draft version; the previously published one is superseded, never changed."""
    if version.status != VersionStatus.DRAFT:
        raise ServiceError(_("Only a draft version can be published."), code="conflict")
    from app.services.rechecks import publication_blocker

    blocker = publication_blocker(version)  # the re-check (复核) before publication
    if blocker:
        raise ServiceError(blocker, code="conflict")
    previous = latest_published(version.stage)
    if previous is not None:
        previous.status = VersionStatus.SUPERSEDED
    version.status = VersionStatus.PUBLISHED
    version.published_at = utcnow()
    version.published_by_id = actor.id
    db.session.flush()
    audit.record("results.publish", version, f"{version.stage.track.name}·{version.stage.name} "
                 f"发布成绩第{version.number}版", reason=version.reason, actor=actor,
                 stage_id=version.stage_id)


def version_table(version: ResultsVersion) -> pd.DataFrame:
    """A stored version as a results table: one row per stage entry, with component columns."""
    rows = db.session.execute(
        sa.select(ResultRow.id, ResultRow.stage_entry_id, ResultRow.total, ResultRow.rank,
                  ResultRow.tie_break, ResultRow.status, ResultRow.eligible, ResultRow.reason,
                  ResultRow.award, Entry.enterprise_id)
        .join(StageEntry, StageEntry.id == ResultRow.stage_entry_id)
        .join(Entry, Entry.id == StageEntry.entry_id)
        .where(ResultRow.version_id == version.id)).all()
    table = pd.DataFrame(rows, columns=["row_id", "entry_id", "total", "rank", "tie_break",
                                        "status", "eligible", "reason", "award", "enterprise"])
    table["enterprise"] = "e" + table["enterprise"].astype(str)
    table["rank"] = table["rank"].astype("Int64")
    parts = db.session.execute(
        sa.select(ResultComponentScore.row_id, Component.code, ResultComponentScore.points,
                  ResultComponentScore.percent)
        .join(Component, Component.id == ResultComponentScore.component_id)
        .join(ResultRow, ResultRow.id == ResultComponentScore.row_id)
        .where(ResultRow.version_id == version.id)).all()
    by_row: dict[int, dict] = {}
    for row_id, code, points, percent in parts:
        by_row.setdefault(row_id, {})[f"{code}_points"] = points
        by_row[row_id][f"{code}_percent"] = percent
    for code in [c["code"] for c in version.settings["components"]]:
        for suffix in ("points", "percent"):
            key = f"{code}_{suffix}"
            table[key] = [by_row.get(r, {}).get(key) for r in table["row_id"]]
    return table.sort_values(["rank", "entry_id"], na_position="last").reset_index(drop=True)


@dataclass
class Difference:
    entry_id: int
    field: str
    before: object
    after: object


def differences(version: ResultsVersion, previous: ResultsVersion | None = None
                ) -> list[Difference]:
    """What changed from the previous version, line by line: totals, ranks, statuses, points."""
    previous = previous or (db.session.get(ResultsVersion, version.previous_id)
                            if version.previous_id else None)
    if previous is None:
        return []
    now = version_table(version).set_index("entry_id")
    before = version_table(previous).set_index("entry_id")
    fields = ["total", "rank", "status", "award"] + [c for c in now.columns
                                                       if c.endswith(("_points", "_percent"))]
    changes = []
    for entry_id in sorted(set(now.index) | set(before.index)):
        for field in fields:
            a = before.at[entry_id, field] if entry_id in before.index and field in before else None
            b = now.at[entry_id, field] if entry_id in now.index and field in now else None
            a, b = (None if x is None or x is pd.NA or (isinstance(x, float) and pd.isna(x))
                    else x for x in (a, b))
            if a != b:
                changes.append(Difference(int(entry_id), field, a, b))
    return changes


# --- advancement -------------------------------------------------------------------------------

def generate_list(version: ResultsVersion, *, actor: User) -> AdvancementList:
    """The advancement list of a published version: top N of the eligible, at most K per
    enterprise (skipped entries keep the reason), the cut-off rule of the stage."""
    stage = version.stage
    if version.status != VersionStatus.PUBLISHED:
        raise ServiceError(_("Advancement lists are made from published results only."),
                           code="conflict")
    if not stage.quota:
        raise ServiceError(_("The stage has no advancement quota."), field="quota")
    if db.session.scalar(sa.select(AdvancementList.id).where(
            AdvancementList.stage_id == stage.id,
            AdvancementList.status.in_([ListStatus.DRAFT, ListStatus.NOTICE, ListStatus.FINAL]))):
        raise ServiceError(_("This stage already has an advancement list; withdraw it first."),
                           code="conflict")
    table = version_table(version)
    advancement = sc.select_advancers(table, stage.quota, stage.per_enterprise_cap,
                                      stage.cutoff_tie_policy.value)
    listing = AdvancementList(stage_id=stage.id, version_id=version.id, status=ListStatus.DRAFT,
                              quota=stage.quota, per_enterprise_cap=stage.per_enterprise_cap,
                              cutoff_tie_policy=stage.cutoff_tie_policy.value,
                              cutoff_note=advancement.note, created_by_id=actor.id)
    db.session.add(listing)
    db.session.flush()
    position = 0
    for row in advancement.table.itertuples(index=False):
        if row.advanced:
            status, reason = AdvancementEntryStatus.ADVANCING, row.reason
        elif row.skipped_for_cap:
            status, reason = AdvancementEntryStatus.SKIPPED_FOR_CAP, row.reason
        elif row.eligible:
            status, reason = AdvancementEntryStatus.RESERVE, None
        else:
            continue
        position += 1
        db.session.add(AdvancementEntry(list_id=listing.id, stage_entry_id=int(row.entry_id),
                                        position=position,
                                        rank=None if pd.isna(row.rank) else int(row.rank),
                                        status=status, reason=reason))
    db.session.flush()
    audit.record("list.generate", listing, f"{stage.track.name}·{stage.name} 晋级名单（"
                 f"{len(advancement.advanced_ids)}人）", after={"note": advancement.note},
                 actor=actor, stage_id=stage.id)
    return listing


def advancers(listing: AdvancementList) -> list[AdvancementEntry]:
    return [e for e in listing.entries if e.status == AdvancementEntryStatus.ADVANCING]


def start_notice(listing: AdvancementList, *, actor: User) -> None:
    """Publish the list for public notice (公示) for the stage's notice days."""
    if listing.status != ListStatus.DRAFT:
        raise ServiceError(_("Only a draft list goes to public notice."), code="conflict")
    now = utcnow()
    listing.status = ListStatus.NOTICE
    listing.notice_starts_at = now
    listing.notice_ends_at = now + timedelta(days=listing.stage.notice_days)
    db.session.flush()
    audit.record("list.notice", listing, f"晋级名单公示至 {listing.notice_ends_at:%Y-%m-%d %H:%M}",
                 actor=actor, stage_id=listing.stage_id)


def record_objection(listing: AdvancementList, target: AdvancementEntry, *, filed_by: str,
                     contact: str | None, text: str, actor: User) -> Objection:
    if listing.status != ListStatus.NOTICE:
        raise ServiceError(_("Objections are taken only during public notice."), code="conflict")
    errors = {}
    if not filed_by.strip():
        errors["filed_by_name"] = _("Who raised the objection?")
    if not text.strip():
        errors["text"] = _("What is the objection?")
    if target.list_id != listing.id or target.status != AdvancementEntryStatus.ADVANCING:
        errors["advancement_entry_id"] = _("Objections concern a contestant on the list.")
    if errors:
        raise FieldErrors(errors)
    objection = Objection(list_id=listing.id, advancement_entry_id=target.id,
                          filed_by_name=filed_by.strip(), contact=(contact or "").strip() or None,
                          text=text.strip(), recorded_by_id=actor.id)
    db.session.add(objection)
    db.session.flush()
    audit.record("objection.record", objection, f"公示异议：{filed_by.strip()}", after={"text": text},
                 actor=actor, stage_id=listing.stage_id)
    return objection


def rule_on_objection(objection: Objection, *, upheld: bool, ruling: str,
                      actor: User) -> AdvancementEntry | None:
    """Rule on an objection. A verified one removes the advancer; the next eligible by rank
    takes the place (递补), within the per-enterprise cap. Returns the replacement, if any."""
    if objection.status != RulingStatus.OPEN:
        raise ServiceError(_("This objection has already been ruled on."), code="conflict")
    if not ruling.strip():
        raise FieldErrors({"ruling": _("A ruling needs its reason.")})
    listing = db.session.get(AdvancementList, objection.list_id)
    objection.status = RulingStatus.UPHELD if upheld else RulingStatus.DISMISSED
    objection.ruling, objection.ruled_by_id, objection.ruled_at = ruling.strip(), actor.id, utcnow()
    replacement = None
    if upheld:
        target = db.session.get(AdvancementEntry, objection.advancement_entry_id)
        target.status = AdvancementEntryStatus.REMOVED
        target.removed_at = utcnow()
        target.reason = ruling.strip()
        replacement = _replace(listing, target)
    db.session.flush()
    audit.record("objection.rule", objection,
                 f"异议{'成立' if upheld else '不成立'}" + (
                     f"，递补 {replacement.stage_entry_id}" if replacement else ""),
                 reason=ruling.strip(), actor=actor, stage_id=listing.stage_id)
    return replacement


def _replace(listing: AdvancementList, removed: AdvancementEntry) -> AdvancementEntry | None:
    version = db.session.get(ResultsVersion, listing.version_id)
    table = version_table(version)
    gone = [e.stage_entry_id for e in listing.entries if e.status == AdvancementEntryStatus.REMOVED]
    advancement = sc.select_advancers(table, listing.quota, listing.per_enterprise_cap,
                                      listing.cutoff_tie_policy, removed=gone)
    now_in = set(advancement.advanced_ids)
    current = {e.stage_entry_id for e in advancers(listing)}
    newcomers = [i for i in advancement.advanced_ids if i not in current]
    by_entry = {e.stage_entry_id: e for e in listing.entries}
    replacement = None
    for entry_id in newcomers:
        row = by_entry.get(int(entry_id))
        if row is None:
            row = AdvancementEntry(list_id=listing.id, stage_entry_id=int(entry_id),
                                   position=len(listing.entries) + 1,
                                   status=AdvancementEntryStatus.RESERVE)
            db.session.add(row)
        row.status = AdvancementEntryStatus.ADVANCING
        row.replaces_id = removed.id
        row.reason = _("Replaces a removed advancer (递补).")
        replacement = replacement or row
    for entry in advancers(listing):
        if entry.stage_entry_id not in now_in and entry is not removed:
            entry.status = AdvancementEntryStatus.RESERVE  # e.g. a tie no longer at the cut-off
    return replacement


def finalise(listing: AdvancementList, *, actor: User, now=None) -> int:
    """After the notice period, with no open objection, the list is final and its advancers
    become the entries of the next stage."""
    now = now or utcnow()
    if listing.status != ListStatus.NOTICE:
        raise ServiceError(_("Only a list under public notice can be finalised."), code="conflict")
    if listing.notice_ends_at and now < listing.notice_ends_at:
        raise ServiceError(_("The public notice runs until %(when)s.",
                             when=f"{listing.notice_ends_at:%Y-%m-%d %H:%M}"), code="conflict")
    if db.session.scalar(sa.select(Objection.id).where(Objection.list_id == listing.id,
                                                       Objection.status == RulingStatus.OPEN)):
        raise ServiceError(_("An objection is still open."), code="conflict")
    stage = listing.stage
    next_stage = db.session.scalar(sa.select(Stage).where(Stage.track_id == stage.track_id,
                                                          Stage.seq > stage.seq)
                                   .order_by(Stage.seq).limit(1))
    listing.status = ListStatus.FINAL
    listing.finalised_at, listing.finalised_by_id = now, actor.id
    moved = 0
    if next_stage is not None:
        for row in advancers(listing):
            place = db.session.get(StageEntry, row.stage_entry_id)
            exists = db.session.scalar(sa.select(StageEntry.id).where(
                StageEntry.stage_id == next_stage.id, StageEntry.entry_id == place.entry_id))
            if exists is None:
                db.session.add(StageEntry(stage_id=next_stage.id, entry_id=place.entry_id,
                                          advanced_from_id=row.id))
                moved += 1
    db.session.flush()
    audit.record("list.finalise", listing, f"{stage.track.name}·{stage.name} 晋级名单定稿，"
                 f"{moved}人进入{next_stage.name if next_stage else '—'}", actor=actor,
                 stage_id=stage.id)
    return moved


def published_results_for(entry: Entry) -> list[dict]:
    """A contestant's published results: per stage, the latest published version's row."""
    out = []
    places = db.session.scalars(sa.select(StageEntry).where(StageEntry.entry_id == entry.id)).all()
    for place in places:
        version = latest_published(place.stage)
        if version is None:
            continue
        row = db.session.scalar(sa.select(ResultRow).where(
            ResultRow.version_id == version.id, ResultRow.stage_entry_id == place.id))
        if row is None:
            continue
        count = db.session.scalar(sa.select(sa.func.count()).select_from(ResultRow)
                                  .where(ResultRow.version_id == version.id))
        listing = db.session.scalar(sa.select(AdvancementList).where(
            AdvancementList.version_id == version.id,
            AdvancementList.status.in_([ListStatus.NOTICE, ListStatus.FINAL])))
        standing = None
        if listing is not None:
            mine = next((e for e in listing.entries if e.stage_entry_id == place.id), None)
            standing = mine.status if mine else None
        out.append({"stage": place.stage, "version": version, "row": row, "of": count,
                    "list": listing, "standing": standing,
                    "components": {c.component_id: c for c in row.components}})
    return out

