"""Score sheets: one judge's marks on one workstation -- the sheet's state as the page shows it,
checking and saving marks (the form path and the judges' autosave), submitting and returning.

Every point is computed by scoring/; the rules it needs are kept between requests (see
``marking_rules``). Who may mark which workstation is the panel's rule (app/services/judging.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

import scoring as sc
from app.extensions import db
from app.inputs import clean_text, parse_number, text_problem
from app.models import (
    AuditLog,
    Component,
    Entry,
    ItemKind,
    JudgeAssignment,
    Mark,
    MarkingItem,
    MarkingNode,
    ScoreSheet,
    SheetStatus,
    Stage,
    StageEntry,
    StageEntryStatus,
    User,
    utcnow,
)
from app.services import FieldErrors, ServiceError, audit
from app.services.judging import (
    assignment_for,
    check_conflict_of_interest,
    check_not_signed_off,
    is_chief,
    judge_place_query,
)


class Conflict(ServiceError):
    """The sheet changed since the page was loaded (someone else saved it)."""

    def __init__(self, message: str):
        super().__init__(message, code="conflict")


def marking_items(component: Component) -> list[MarkingItem]:
    """The component's marking items (leaves of its scheme) in display order."""
    from app.services.marking_schemes import flat_tree

    # One query for the items with their abilities, so building the tree and the scheme
    # finds them in the session instead of loading them one at a time.
    db.session.scalars(sa.select(MarkingItem).where(MarkingItem.component_id == component.id)
                       .options(selectinload(MarkingItem.ability))).all()
    return [node.item for node in flat_tree(component) if node.item.node == MarkingNode.ITEM]


@dataclass(frozen=True)
class ItemRule:
    """What saving and totalling a sheet need of a marking item (plain data, so it can be
    kept between requests)."""

    id: int
    code: str
    kind: ItemKind


# The scoring scheme of a component is rebuilt only when its inputs change: the key is the
# component's scheme stamp (new with every change to its items, see Component.scheme_stamp) and
# the component and stage settings scoring_scheme() reads, all on rows a request has loaded
# anyway, so a changed scheme or setting is never served from here and no query is spent on
# checking. Shared by the requests of one worker process.
_RULES: dict[tuple, tuple[sc.MarkingScheme, tuple[ItemRule, ...]]] = {}
_RULES_MAX = 256


def _rules_key(component_id: int, stamp: str | None, time_limit_minutes: int | None,
               overrun_deduction_per_minute: Decimal | None,
               overrun_disqualify_after_minutes: int | None, decimals: int) -> tuple:
    return (component_id, stamp, time_limit_minutes, overrun_deduction_per_minute,
            overrun_disqualify_after_minutes, decimals)


def _kept_rules(key: tuple, component: Component | None = None
                ) -> tuple[sc.MarkingScheme, tuple[ItemRule, ...]]:
    """The rules kept under ``key``, built from the component (loaded if not given) if not."""
    rules = _RULES.get(key)
    if rules is None:
        from app.services.marking_schemes import scoring_scheme

        if component is None:
            component = db.session.get(Component, key[0])
        scheme = scoring_scheme(component)
        rules = (scheme, tuple(ItemRule(i.id, i.code, i.kind) for i in marking_items(component)))
        if len(_RULES) >= _RULES_MAX:
            _RULES.clear()
        _RULES[key] = rules
    return rules


def marking_rules(component: Component) -> tuple[sc.MarkingScheme, tuple[ItemRule, ...]]:
    """The component's scheme as scoring/ takes it and its items in display order (kept
    between requests, see ``_RULES``)."""
    session = db.session()
    if session.new or session.dirty or session.deleted:
        session.flush()  # a pending change to the scheme gives the component its new stamp
    return _kept_rules(_rules_key(
        component.id, component.scheme_stamp, component.time_limit_minutes,
        component.overrun_deduction_per_minute, component.overrun_disqualify_after_minutes,
        component.stage.decimals), component)


def mirror_rules(component: Component) -> dict:
    """What the sheet page's script needs to mirror ``scoring.running_total`` and
    ``scoring.score_sheet`` while the judge types (the server's answer to each save stays the
    truth): every amount in integer units of 10**-decimals, as scoring/ counts them."""
    scheme, _rules = marking_rules(component)
    scale = 10 ** scheme.decimals

    def units(value) -> int:
        return int(Decimal(value or 0) * scale)

    rule = scheme.time_overrun
    return {
        "decimals": scheme.decimals,
        "items": [{"code": item.code, "kind": item.kind.value, "max": units(item.maximum),
                   "per": units(item.deduction_per_occurrence),
                   "all_or_nothing": bool(item.all_or_nothing)} for item in scheme.items],
        "overrun": None if rule is None else {
            "per_minute": units(rule.deduction_per_started_minute),
            "disqualify_after": rule.disqualify_after_minutes},
    }


def sheet_for(component: Component, judge: User, workstation: str, *,
              create: bool = False, assignment: JudgeAssignment | None = None
              ) -> ScoreSheet | None:
    """The judge's sheet for a workstation, checking the judge may mark it (``assignment``:
    the judge's assignment to the component, if the caller has it already)."""
    if assignment is None or assignment.component_id != component.id \
            or assignment.user_id != judge.id:
        assignment = assignment_for(component, judge)
    if assignment is None:
        raise ServiceError(_("You are not on the panel of %(name)s.", name=component.name),
                           code="forbidden")
    query = judge_place_query(assignment, workstation)
    found = None if query is None else db.session.execute(  # the place and its sheet at once
        query.add_columns(ScoreSheet).outerjoin(ScoreSheet, sa.and_(
            ScoreSheet.stage_entry_id == StageEntry.id, ScoreSheet.component_id == component.id,
            ScoreSheet.judge_id == judge.id)).options(joinedload(ScoreSheet.marks))
    ).unique().first()
    if found is None:
        raise ServiceError(_("Workstation %(n)s is not on your list.", n=workstation),
                           code="forbidden")
    place, sheet = found
    if sheet is not None:  # keep the place with its sheet (the session holds it only weakly)
        set_committed_value(sheet, "stage_entry", place)
    if sheet is None and create:
        check_not_signed_off(component)
        sheet = ScoreSheet(component=component, stage_entry=place, judge=judge,
                           status=SheetStatus.DRAFT)
        db.session.add(sheet)
        db.session.flush()
    return sheet


@dataclass
class SheetState:
    """What a sheet page shows: values by item code, points as they will be computed, and the
    problems that stop it from being submitted."""

    values: dict[str, Decimal | None]
    reasons: dict[str, str]
    item_points: dict[str, Decimal]
    points: Decimal
    overrun_minutes: int | None
    complete: bool
    problems: dict[str, str] = field(default_factory=dict)
    disqualified: bool = False
    dq_reason: str | None = None


def field_label(code: str, titles: dict[str, str]) -> str:
    """A sheet field as the judge reads it: the item's code and title, or the time overrun."""
    if code == "overrun_minutes":
        return _("Minutes over time")
    title = titles.get(code)
    return f"{code} {title}" if title else code


def _titles(component: Component) -> dict[str, str]:
    return {i.code: i.title for i in marking_items(component)}


def named_problems(problems: dict[str, str], rules, titles: dict[str, str]) -> dict[str, str]:
    """Each problem of a sheet with the field it is about named in words (by the order of the
    sheet), so a message read away from its field still says which one."""
    order = {rule.code: n for n, rule in enumerate(rules)}
    ordered = sorted(problems, key=lambda code: order.get(code, len(order)))
    return {code: _("%(field)s: %(problem)s", field=field_label(code, titles),
                    problem=problems[code]) for code in ordered}


def _parse_value(item: MarkingItem, raw) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if item.kind == ItemKind.DISQUALIFYING:
        if isinstance(raw, bool):
            return Decimal(1) if raw else Decimal(0)
        return Decimal(1) if str(raw).strip().lower() in {"1", "true", "on", "yes"} else Decimal(0)
    return parse_number(raw, field=item.code)


def _item_check(scheme: sc.MarkingScheme, item: MarkingItem, value: Decimal | None) -> None:
    """Check one mark against its item through the scoring engine (refused, never clipped)."""
    if value is None:
        return
    single = scheme.single(item.code)
    as_given = bool(value) if item.kind == ItemKind.DISQUALIFYING else value
    sc.score_sheet(single, {item.code: as_given}, reasons={item.code: "-"})


def state(sheet: ScoreSheet | None, component: Component) -> SheetState:
    """The sheet's marks and their points, computed by scoring/ exactly as they will count."""
    scheme, items = marking_rules(component)
    marks = {m.item_id: m for m in (sheet.marks if sheet else [])}
    values = {i.code: (marks[i.id].value if i.id in marks else None) for i in items}
    reasons = {i.code: (marks[i.id].reason or "") for i in items if i.id in marks}
    overrun = sheet.overrun_minutes if sheet else None
    return _compute(scheme, component.time_limit_minutes, items, values, reasons, overrun)


def _compute(scheme: sc.MarkingScheme, time_limit_minutes: int | None, items, values, reasons,
             overrun) -> SheetState:
    """A sheet's state from its values and reasons by item code: what stops it from being
    submitted, and its points by scoring/ -- as they will count once complete, until then the
    running total of what is marked so far."""
    problems: dict[str, str] = {}
    for item in items:
        if item.kind in (ItemKind.MEASUREMENT, ItemKind.JUDGEMENT) and values[item.code] is None:
            problems[item.code] = _("Not marked yet.")
        if (item.kind == ItemKind.DISQUALIFYING and values[item.code] == 1
                and not reasons.get(item.code, "").strip()):
            problems[item.code] = _("A disqualification needs a written reason.")
    # An empty time-overrun field is no overrun: the judge writes a number only when the
    # contestant went over the limit.
    kinds = {item.code: item.kind for item in items}
    given = {code: (bool(v) if kinds[code] == ItemKind.DISQUALIFYING else v)
             for code, v in values.items() if v is not None}
    if problems:
        counted = {code: v for code, v in given.items() if code not in problems}
        running = sc.running_total(scheme, counted, reasons=reasons)
        return SheetState(values, reasons, dict(running.item_points), running.points, overrun,
                          False, problems)
    time_used = (time_limit_minutes + (overrun or 0)) * 60 if time_limit_minutes else None
    result = sc.score_sheet(scheme, given, time_used_seconds=time_used,
                            reasons={k: v for k, v in reasons.items() if v})
    return SheetState(values, reasons, dict(result.item_points), result.points, overrun, True,
                      disqualified=result.disqualified, dq_reason=result.dq_reason)


# --- saving marks ------------------------------------------------------------------------------
# One way of checking and storing a save, used by both callers: ``save`` (the sheet as loaded
# objects: chief judges' corrections, corrections after sign-off, the API) and ``autosave``
# (the sheet page's draft saves, read and written as plain rows: it runs every few seconds for
# every judge at the venue).

@dataclass(frozen=True)
class StoredMark:
    id: int
    value: Decimal | None
    reason: str | None


@dataclass
class _Plan:
    """What a save changes: the audit's lines, the marks to update and to insert, and the
    sheet's points afterwards (None: nothing changes)."""

    changes: list[dict]
    updates: list[dict]
    inserts: list[dict]
    overrun: int | None
    current: SheetState | None


def _plan(scheme: sc.MarkingScheme, rules: tuple[ItemRule, ...], time_limit_minutes: int | None,
          sheet_id: int, stored: dict[str, StoredMark], overrun_now: int | None,
          raw_values: dict, raw_reasons: dict, raw_overrun, now) -> _Plan:
    """Check a save's marks through scoring/ (every bad one named: FieldErrors) and work out
    what it changes against the stored marks (by item code)."""
    if not isinstance(raw_values, dict) or not isinstance(raw_reasons, dict):
        raise ValueError("marks and reasons are objects keyed by item code")
    items = {i.code: i for i in rules}
    errors: dict[str, str] = {}
    parsed: dict[str, Decimal | None] = {}
    for code, reason in raw_reasons.items():
        if isinstance(reason, str) and text_problem(reason):
            errors[code] = text_problem(reason)
    for code, raw in raw_values.items():
        item = items.get(code)
        if item is None:
            errors[code] = _("No such marking item.")
            continue
        try:
            parsed[code] = _parse_value(item, raw)
            mark = stored.get(code)
            if mark is None or mark.value != parsed[code]:  # stored marks passed already
                _item_check(scheme, item, parsed[code])
        except ServiceError as error:
            errors[code] = error.message
        except sc.ScoringError as error:
            errors[code] = str(error)
    overrun = overrun_now
    if raw_overrun is not None and str(raw_overrun).strip() != "":
        try:
            overrun = parse_number(raw_overrun, whole=True, minimum=0)
        except ServiceError:
            errors["overrun_minutes"] = _("Minutes over time are a whole number, 0 or more.")
    elif raw_overrun is not None:
        overrun = None
    if errors:
        raise FieldErrors(errors)
    changes: list[dict] = []
    updates: list[dict] = []
    inserts: list[dict] = []
    marks_now = {code: (m.value, m.reason) for code, m in stored.items()}
    for code, value in parsed.items():
        mark = stored.get(code)
        reason = raw_reasons.get(code)
        if reason is not None and not isinstance(reason, str):
            raise ValueError("a reason is text")
        new_reason = clean_text(reason, multiline=True) or None
        old_value = mark.value if mark else None
        old_reason = mark.reason if mark else None
        if value == old_value and (items[code].kind != ItemKind.DISQUALIFYING
                                   or new_reason == old_reason):
            continue
        row = {"value": value, "reason": new_reason, "updated_at": now}
        if mark is None:
            inserts.append({"sheet_id": sheet_id, "item_id": items[code].id, **row})
        else:
            updates.append({"mark_id": mark.id, **row})
        marks_now[code] = (value, new_reason)
        changes.append({"item": code, "old": _text(old_value), "new": _text(value),
                        **({"reason": new_reason} if items[code].kind == ItemKind.DISQUALIFYING
                           else {})})
    if overrun != overrun_now:
        changes.append({"item": "overrun_minutes", "old": _text(overrun_now),
                        "new": _text(overrun)})
    current = None
    if changes:
        values = {i.code: marks_now[i.code][0] if i.code in marks_now else None for i in rules}
        reasons = {code: reason or "" for code, (_value, reason) in marks_now.items()}
        current = _compute(scheme, time_limit_minutes, rules, values, reasons, overrun)
    return _Plan(changes, updates, inserts, overrun, current)


_SHEET_UPDATE = None
_MARK_UPDATE = None
_ONE_STATEMENT: dict[tuple[int, int], sa.TextClause] = {}
_SHEET_COLUMNS = ("points", "disqualified", "disqualified_reason", "overrun_minutes",
                  "updated_at", "version")


def _write(sheet_id: int, version: int, plan: _Plan, now, audit_row: dict) -> dict:
    """Store a save: the sheet row only if its version is still the one the page showed (the
    optimistic lock, as the mapper's version counter does it), the changed marks, the new ones
    and the audit row. Returns the sheet's new column values; a stale version raises Conflict
    with nothing written."""
    current = plan.current
    row = {"points": current.points if current.complete else None,
           "disqualified": current.disqualified, "disqualified_reason": current.dq_reason,
           "overrun_minutes": plan.overrun, "updated_at": now, "version": version + 1}
    if db.session.get_bind().dialect.name == "postgresql":
        written = _write_in_one_statement(sheet_id, version, plan, now, row, audit_row)
    else:
        written = _write_in_steps(sheet_id, version, plan, row, audit_row)
    if not written:
        raise Conflict(_("This sheet was changed elsewhere at the same moment. Reload it; "
                         "your typing is kept on this device."))
    return row


def _write_in_steps(sheet_id: int, version: int, plan: _Plan, row: dict,
                    audit_row: dict) -> bool:
    """Sheet, changed marks, new marks and audit row, one statement each (SQLite, where a
    statement costs no trip to a server)."""
    global _SHEET_UPDATE, _MARK_UPDATE
    sheets, marks = ScoreSheet.__table__, Mark.__table__
    if _SHEET_UPDATE is None:  # built once: the statements are the same for every save
        _SHEET_UPDATE = sheets.update().where(
            sheets.c.id == sa.bindparam("sheet_id"),
            sheets.c.version == sa.bindparam("old_version")).values(
            {name: sa.bindparam(f"new_{name}", type_=sheets.c[name].type)
             for name in _SHEET_COLUMNS})
        _MARK_UPDATE = marks.update().where(marks.c.id == sa.bindparam("mark_id")).values(
            value=sa.bindparam("new_value", type_=marks.c.value.type),
            reason=sa.bindparam("new_reason", type_=marks.c.reason.type),
            updated_at=sa.bindparam("new_updated_at", type_=marks.c.updated_at.type))
    done = db.session.execute(_SHEET_UPDATE, {"sheet_id": sheet_id, "old_version": version,
                                              **{f"new_{k}": v for k, v in row.items()}})
    if done.rowcount != 1:
        return False
    if plan.updates:
        db.session.execute(_MARK_UPDATE, [
            {"mark_id": u["mark_id"], "new_value": u["value"], "new_reason": u["reason"],
             "new_updated_at": u["updated_at"]} for u in plan.updates])
    if plan.inserts:
        db.session.execute(marks.insert(), plan.inserts)
    db.session.execute(AuditLog.__table__.insert(), {**audit_row, "at": row["updated_at"]})
    return True


def _one_statement(updates: int, inserts: int) -> sa.TextClause:
    """PostgreSQL: the sheet's guarded update, the marks and the audit row as ONE statement
    (data-modifying WITH clauses): the marks and the audit row are written only if the sheet's
    update found the version the page showed, and the answer is the audit row's id (none:
    stale). One trip to the server instead of four."""
    statement = _ONE_STATEMENT.get((updates, inserts))
    if statement is not None:
        return statement
    sheets, marks, log = ScoreSheet.__table__, Mark.__table__, AuditLog.__table__
    binds = [sa.bindparam("sheet_id", type_=sa.Integer), sa.bindparam("old_version",
                                                                        type_=sa.Integer)]
    binds += [sa.bindparam(f"s_{name}", type_=sheets.c[name].type) for name in _SHEET_COLUMNS]
    sql = ["WITH saved AS (UPDATE score_sheets SET "
           + ", ".join(f"{name} = :s_{name}" for name in _SHEET_COLUMNS)
           + " WHERE id = :sheet_id AND version = :old_version RETURNING id)"]

    def mark_rows(prefix: str, key: str, count: int) -> str:
        """A VALUES list of ``count`` (key, value, reason) rows, its parameters bound."""
        binds.extend(bind for k in range(count) for bind in (
            sa.bindparam(f"{prefix}{k}_{key}", type_=sa.Integer),
            sa.bindparam(f"{prefix}{k}_value", type_=marks.c.value.type),
            sa.bindparam(f"{prefix}{k}_reason", type_=marks.c.reason.type)))
        return ", ".join(f"(CAST(:{prefix}{k}_{key} AS INTEGER), CAST(:{prefix}{k}_value AS "
                         f"BIGINT), CAST(:{prefix}{k}_reason AS TEXT))" for k in range(count))

    if updates:
        sql.append(f", changed AS (UPDATE marks SET value = v.value, reason = v.reason, "
                   f"updated_at = :s_updated_at FROM (VALUES {mark_rows('u', 'id', updates)}) "
                   f"AS v (id, value, reason) WHERE marks.id = v.id "
                   f"AND EXISTS (SELECT 1 FROM saved))")
    if inserts:
        sql.append(f", added AS (INSERT INTO marks (sheet_id, item_id, value, reason, "
                   f"updated_at) SELECT saved.id, v.item_id, v.value, v.reason, :s_updated_at "
                   f"FROM saved, (VALUES {mark_rows('i', 'item', inserts)}) "
                   f"AS v (item_id, value, reason))")
    audit_columns = [c.name for c in log.c if c.name not in ("id", "at")]
    sql.append(f" INSERT INTO audit_log (at, {', '.join(audit_columns)}) SELECT :s_updated_at, "
               + ", ".join(f"CAST(:a_{name} AS JSON)" if name in ("before", "after")
                           else f":a_{name}" for name in audit_columns)
               + " FROM saved RETURNING audit_log.id")
    binds += [sa.bindparam(f"a_{name}", type_=log.c[name].type) for name in audit_columns]
    statement = sa.text("".join(sql)).bindparams(*binds)
    if len(_ONE_STATEMENT) < 1024:
        _ONE_STATEMENT[(updates, inserts)] = statement
    return statement


def _write_in_one_statement(sheet_id: int, version: int, plan: _Plan, now, row: dict,
                            audit_row: dict) -> bool:
    params = {"sheet_id": sheet_id, "old_version": version,
              **{f"s_{k}": v for k, v in row.items()},
              **{f"a_{k}": v for k, v in audit_row.items()}}
    for k, update in enumerate(plan.updates):
        params.update({f"u{k}_id": update["mark_id"], f"u{k}_value": update["value"],
                       f"u{k}_reason": update["reason"]})
    for k, insert in enumerate(plan.inserts):
        params.update({f"i{k}_item": insert["item_id"], f"i{k}_value": insert["value"],
                       f"i{k}_reason": insert["reason"]})
    statement = _one_statement(len(plan.updates), len(plan.inserts))
    return db.session.execute(statement, params).first() is not None


def _save_summary(component_name: str, workstation: str, count: int, *, ground: str | None,
                  correcting: bool) -> tuple[str, str]:
    what = f"签字后依据{ground}更正" if ground else "裁判长更正" if correcting else "评分"
    action = ("mark.correct_after_signoff" if ground else
              "mark.correct" if correcting else "mark.save")
    return action, f"{component_name} 赛位{workstation} {what}（{count}项）"


def _stale(now: int, yours: int) -> Conflict:
    return Conflict(_("This sheet was changed elsewhere since you opened it (now version "
                      "%(now)d, yours %(yours)d). Reload it; your typing is kept on this "
                      "device.", now=now, yours=yours))


def save(sheet: ScoreSheet, raw_values: dict, raw_reasons: dict, raw_overrun, *,
         version: int, actor: User, reason: str | None = None,
         ground: str | None = None) -> SheetState:
    """Save marks on a sheet (a judge's draft, or the chief judge's correction).

    ``version`` is the sheet version the page was showing; a stale one is refused, so two
    people never overwrite each other. Bad values are refused with the item named; every
    changed mark is audited with old value, new value and (for corrections) the reason.

    ``ground`` (e.g. "申诉#12"): a correction after sign-off, which only
    ``score_corrections.correct`` makes, having checked the ground it names; without it a
    signed-off component's sheets are frozen.
    """
    component = sheet.component
    if ground is None:
        check_not_signed_off(component)
    elif component.signed_off_at is None:
        raise ServiceError(_("%(name)s has not been signed off; correct its sheets on the "
                             "panel.", name=component.name), code="conflict")
    correcting = actor.id != sheet.judge_id
    if ground is not None and not correcting:
        raise ServiceError(_("Only the chief judge corrects a sheet after sign-off."),
                           code="forbidden")
    if correcting:
        if not is_chief(component, actor):
            raise ServiceError(_("Only the sheet's judge or the chief judge may change it."),
                               code="forbidden")
        if not clean_text(reason, multiline=True, field="reason"):
            raise FieldErrors({"reason": _("A correction needs a reason.")})
        check_conflict_of_interest(actor, sheet.stage_entry)
    elif sheet.status == SheetStatus.SUBMITTED:
        raise ServiceError(_("This sheet has been submitted and is locked."), code="conflict")
    if sheet.version != version:
        raise _stale(sheet.version, version)
    scheme, rules = marking_rules(component)
    codes = {i.id: i.code for i in rules}
    loaded = {codes[m.item_id]: m for m in sheet.marks}
    now = utcnow()
    plan = _plan(scheme, rules, component.time_limit_minutes, sheet.id,
                 {code: StoredMark(m.id, m.value, m.reason) for code, m in loaded.items()},
                 sheet.overrun_minutes, raw_values, raw_reasons, raw_overrun, now)
    if not plan.changes:
        return state(sheet, component)
    action, summary = _save_summary(component.name, sheet.stage_entry.workstation_number,
                                    len(plan.changes), ground=ground, correcting=correcting)
    row = _write(sheet.id, sheet.version, plan, now, audit.fields(
        action, "ScoreSheet", sheet.id, summary,
        before={c["item"]: c["old"] for c in plan.changes},
        after={c["item"]: c["new"] for c in plan.changes},
        reason=reason if correcting else None, actor=actor, stage_id=component.stage_id))
    for name, value in row.items():  # the loaded objects brought up to date in place
        set_committed_value(sheet, name, value)
    by_id = {m.id: m for m in loaded.values()}
    for update in plan.updates:
        for name in ("value", "reason", "updated_at"):
            set_committed_value(by_id[update["mark_id"]], name, update[name])
    if plan.inserts:
        db.session.expire(sheet, ["marks"])  # the new marks load with the collection
    return plan.current


@dataclass(frozen=True)
class Autosaved:
    """An autosave's answer: the sheet's points as they will count, its version (0: no sheet
    yet) and its status."""

    state: SheetState
    version: int
    status: SheetStatus


_AUTOSAVE_READ = None


def _autosave_read() -> sa.Select:
    """Everything a judge's save needs, in one statement: the judge's assignment to the
    component, the component's settings, the drawn place at the workstation if the judge may
    mark it, the judge's sheet there and its marks (one row per mark)."""
    global _AUTOSAVE_READ
    if _AUTOSAVE_READ is None:
        ja, c, st = JudgeAssignment.__table__, Component.__table__, Stage.__table__
        se, e = StageEntry.__table__, Entry.__table__
        sh, m = ScoreSheet.__table__, Mark.__table__
        place_on = sa.and_(
            se.c.stage_id == c.c.stage_id, se.c.workstation_number == sa.bindparam("ws"),
            se.c.status == StageEntryStatus.ACTIVE,
            sa.or_(ja.c.sitting_id.is_(None), se.c.sitting_id == ja.c.sitting_id))
        _AUTOSAVE_READ = (
            sa.select(ja.c.workstations, c.c.name, c.c.stage_id, c.c.signed_off_at,
                      c.c.scheme_stamp, c.c.time_limit_minutes, c.c.overrun_deduction_per_minute,
                      c.c.overrun_disqualify_after_minutes, st.c.decimals,
                      se.c.id.label("place_id"), e.c.enterprise_id,
                      sh.c.id.label("sheet_id"), sh.c.version, sh.c.status,
                      sh.c.overrun_minutes, m.c.id.label("mark_id"), m.c.item_id,
                      m.c.value, m.c.reason)
            .select_from(
                ja.join(c, c.c.id == ja.c.component_id).join(st, st.c.id == c.c.stage_id)
                .outerjoin(se, place_on).outerjoin(e, e.c.id == se.c.entry_id)
                .outerjoin(sh, sa.and_(sh.c.stage_entry_id == se.c.id,
                                       sh.c.component_id == c.c.id,
                                       sh.c.judge_id == ja.c.user_id))
                .outerjoin(m, m.c.sheet_id == sh.c.id))
            .where(ja.c.component_id == sa.bindparam("component_id"),
                   ja.c.user_id == sa.bindparam("user_id")))
    return _AUTOSAVE_READ


def autosave_outside_a_transaction() -> None:
    """PostgreSQL, before anything of the request has touched the database: let the autosave's
    statements run without BEGIN and COMMIT around them (two trips to the server fewer on a
    request that runs every few seconds for every judge). Safe because ``autosave`` reads,
    then writes everything in ONE statement, atomic by itself and guarded by the sheet version
    it read (a first save creates the sheet just before: a blank sheet on its own is a state
    the sheet page shows anyway, and another device creating it at the same moment is told the
    sheet is stale). Not when the session is bound to a connection of its own (tests
    running inside an outer transaction)."""
    session = db.session()
    bind = session.get_bind()
    if bind.dialect.name != "postgresql" or not isinstance(bind, sa.Engine) \
            or session.in_transaction():
        return
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def autosave(component_id: int, judge: User, workstation: str, raw_values: dict,
             raw_reasons: dict, raw_overrun, *, version: int) -> Autosaved:
    """A judge's draft save from the sheet page: the same checks and the same writes as
    ``save`` for the judge's own sheet, with the sheet read in one statement as plain rows.

    The first save that changes anything creates the sheet (a page showing a blank sheet sends
    version 0; until then the answer's version stays 0). Refusals as ``sheet_for`` and
    ``save`` give them: not on the panel (code "not_found"), a workstation not on the judge's
    list ("forbidden"), signed off, submitted or stale ("conflict"), bad marks (FieldErrors)."""
    rows = db.session.execute(_autosave_read(), {
        "component_id": component_id, "user_id": judge.id, "ws": workstation}).all()
    if not rows:
        raise ServiceError(_("You are not on the panel of this component."), code="not_found")
    first = rows[0]
    if (first.workstations and workstation not in first.workstations) \
            or first.place_id is None \
            or (judge.enterprise_id and first.enterprise_id == judge.enterprise_id):
        raise ServiceError(_("Workstation %(n)s is not on your list.", n=workstation),
                           code="forbidden")
    if first.signed_off_at is not None:
        raise ServiceError(_("%(name)s has been signed off; its scores are frozen.",
                             name=first.name), code="conflict")
    sheet_id, current_version = first.sheet_id, first.version or 0
    status = first.status or SheetStatus.DRAFT
    if status == SheetStatus.SUBMITTED:
        raise ServiceError(_("This sheet has been submitted and is locked."), code="conflict")
    if sheet_id is not None and current_version != version:
        raise _stale(current_version, version)
    scheme, rules = _kept_rules(_rules_key(
        component_id, first.scheme_stamp, first.time_limit_minutes,
        first.overrun_deduction_per_minute, first.overrun_disqualify_after_minutes,
        first.decimals))
    codes = {i.id: i.code for i in rules}
    stored = {codes[r.item_id]: StoredMark(r.mark_id, r.value, r.reason)
              for r in rows if r.mark_id is not None}
    now = utcnow()
    plan = _plan(scheme, rules, first.time_limit_minutes, sheet_id or 0, stored,
                 first.overrun_minutes, raw_values, raw_reasons, raw_overrun, now)
    if not plan.changes:
        values = {i.code: stored[i.code].value if i.code in stored else None for i in rules}
        reasons = {code: m.reason or "" for code, m in stored.items()}
        return Autosaved(_compute(scheme, first.time_limit_minutes, rules, values, reasons,
                                  first.overrun_minutes), current_version, status)
    if sheet_id is None:
        sheet_id, current_version = _create_sheet(component_id, first.place_id, judge.id,
                                                  now), 1
        for insert in plan.inserts:
            insert["sheet_id"] = sheet_id
    action, summary = _save_summary(first.name, workstation, len(plan.changes), ground=None,
                                    correcting=False)
    row = _write(sheet_id, current_version, plan, now, audit.fields(
        action, "ScoreSheet", sheet_id, summary,
        before={c["item"]: c["old"] for c in plan.changes},
        after={c["item"]: c["new"] for c in plan.changes}, reason=None, actor=judge,
        stage_id=first.stage_id))
    return Autosaved(plan.current, row["version"], status)


def _create_sheet(component_id: int, place_id: int, judge_id: int, now) -> int:
    """A new blank sheet (version 1); another device creating it at the same moment: stale."""
    sheets = ScoreSheet.__table__
    try:  # the request answers 409 and rolls back
        return db.session.execute(sheets.insert().values(
            component_id=component_id, stage_entry_id=place_id, judge_id=judge_id,
            status=SheetStatus.DRAFT, version=1, disqualified=False, updated_at=now)
            .returning(sheets.c.id)).scalar_one()
    except sa.exc.IntegrityError:
        raise Conflict(_("This sheet was changed elsewhere at the same moment. Reload it; "
                         "your typing is kept on this device.")) from None


def _text(value) -> str | None:
    if value is None:
        return None
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def submit(sheet: ScoreSheet, *, version: int, actor: User) -> SheetState:
    """The judge submits a complete sheet; it is then locked for the judge."""
    if actor.id != sheet.judge_id:
        raise ServiceError(_("Only the sheet's judge submits it."), code="forbidden")
    check_not_signed_off(sheet.component)
    if sheet.status == SheetStatus.SUBMITTED:
        raise ServiceError(_("This sheet has already been submitted."), code="conflict")
    if sheet.version != version:
        raise Conflict(_("This sheet was changed elsewhere since you opened it. Reload it."))
    current = state(sheet, sheet.component)
    if not current.complete:
        raise FieldErrors(named_problems(current.problems, marking_rules(sheet.component)[1],
                                         _titles(sheet.component)))
    sheet.status = SheetStatus.SUBMITTED
    sheet.submitted_at = utcnow()
    sheet.points = current.points
    sheet.disqualified, sheet.disqualified_reason = current.disqualified, current.dq_reason
    sheet.return_comment = None
    db.session.flush()
    audit.record("sheet.submit", sheet, f"{sheet.component.name} 赛位"
                 f"{sheet.stage_entry.workstation_number} 提交（{current.points}分）",
                 after={"points": str(current.points)}, actor=actor,
                 stage_id=sheet.component.stage_id)
    return current


def return_sheet(sheet: ScoreSheet, comment: str, *, actor: User) -> None:
    """The chief judge sends a submitted sheet back to its judge with a comment."""
    if not is_chief(sheet.component, actor):
        raise ServiceError(_("Only the chief judge returns sheets."), code="forbidden")
    check_not_signed_off(sheet.component)
    comment = clean_text(comment, multiline=True, field="comment")
    if not comment:
        raise FieldErrors({"comment": _("Say what the judge should look at again.")})
    if sheet.status != SheetStatus.SUBMITTED:
        raise ServiceError(_("Only a submitted sheet can be returned."), code="conflict")
    sheet.status = SheetStatus.RETURNED
    sheet.return_comment = comment
    db.session.flush()
    audit.record("sheet.return", sheet, f"{sheet.component.name} 赛位"
                 f"{sheet.stage_entry.workstation_number} 退回裁判 {sheet.judge.display_name}",
                 reason=comment, actor=actor, stage_id=sheet.component.stage_id)


def sheet_history(sheet: ScoreSheet) -> list:
    from app.models import AuditLog

    return list(db.session.scalars(sa.select(AuditLog).where(
        AuditLog.object_type == "ScoreSheet", AuditLog.object_id == sheet.id)
        .order_by(AuditLog.id)))

