"""What-if preview: a stage's results under other weights, quota, per-enterprise cap or cut-off
tie policy, compared line by line with its results under the current settings. Both sides are
computed by scoring/ from the same stored scores (results.stage_inputs); nothing is written.
Applying the settings goes through the audited configuration services (apply)."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from flask_babel import gettext as _

import scoring as sc
from app.extensions import db
from app.models import CutoffTiePolicy, Stage, User
from app.services import FieldErrors, ServiceError
from app.services import stages as stage_service
from app.services.audit import json_safe

UNCHANGED: Any = object()  # a setting not given: the stage's current one

# An entry's place under a setting, as an advancement list would record it.
ADVANCING, SKIPPED_FOR_CAP, RESERVE, NOT_ELIGIBLE = (
    "advancing", "skipped_for_cap", "reserve", "not_eligible")


@dataclass(frozen=True)
class Settings:
    """What a preview varies: weights (percent by component code), quota (N),
    per-enterprise cap (K) and the cut-off tie policy."""

    weights: dict[str, Decimal]
    quota: int | None
    per_enterprise_cap: int | None
    cutoff_tie_policy: CutoffTiePolicy

    @classmethod
    def of(cls, stage: Stage) -> Settings:
        return cls({c.code: c.weight for c in stage.components}, stage.quota,
                   stage.per_enterprise_cap, CutoffTiePolicy(stage.cutoff_tie_policy))

    def as_json(self) -> dict[str, Any]:
        return {"weights": {code: json_safe(weight) for code, weight in self.weights.items()},
                "quota": self.quota, "per_enterprise_cap": self.per_enterprise_cap,
                "cutoff_tie_policy": self.cutoff_tie_policy.value}


@dataclass(frozen=True)
class Change:
    """An entry whose rank or place on the advancement list differs under the new settings."""

    entry_id: int
    rank_before: int | None
    rank_after: int | None
    total_before: Decimal | None
    total_after: Decimal | None
    standing_before: str | None  # advancing / skipped_for_cap / reserve / not_eligible
    standing_after: str | None  # (None when the stage has no quota)

    @property
    def moved(self) -> str | None:
        """"up" or "down" in rank (a smaller number is up), None if unchanged or unranked."""
        if self.rank_before is None or self.rank_after is None or \
                self.rank_before == self.rank_after:
            return None
        return "up" if self.rank_after < self.rank_before else "down"

    @property
    def advancement(self) -> str | None:
        """"in" (advances only under the new settings), "out" (only under the current)."""
        before, after = self.standing_before == ADVANCING, self.standing_after == ADVANCING
        return None if before == after else ("in" if after else "out")

    def as_json(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "rank_before": self.rank_before,
                "rank_after": self.rank_after, "total_before": _text(self.total_before),
                "total_after": _text(self.total_after), "standing_before": self.standing_before,
                "standing_after": self.standing_after, "moved": self.moved,
                "advancement": self.advancement}


@dataclass(frozen=True)
class Preview:
    current: Settings
    proposed: Settings
    entries: int  # contestants compared
    changes: list[Change]  # advancement changes first, then by the new rank
    note_before: str | None  # scoring.select_advancers' cut-off note (None: no quota)
    note_after: str | None
    advancing_before: int | None
    advancing_after: int | None

    @property
    def changed_settings(self) -> list[str]:
        """Names of the settings that differ: weights.<code>, quota, per_enterprise_cap, …"""
        names = [f"weights.{code}" for code, weight in self.proposed.weights.items()
                 if self.current.weights.get(code) != weight]
        names += [name for name in ("quota", "per_enterprise_cap", "cutoff_tie_policy")
                  if getattr(self.current, name) != getattr(self.proposed, name)]
        return names

    @property
    def moved_up(self) -> int:
        return sum(c.moved == "up" for c in self.changes)

    @property
    def moved_down(self) -> int:
        return sum(c.moved == "down" for c in self.changes)

    @property
    def newly_in(self) -> int:
        return sum(c.advancement == "in" for c in self.changes)

    @property
    def newly_out(self) -> int:
        return sum(c.advancement == "out" for c in self.changes)

    def as_json(self) -> dict[str, Any]:
        return {"current": self.current.as_json(), "proposed": self.proposed.as_json(),
                "changed_settings": self.changed_settings, "entries": self.entries,
                "moved_up": self.moved_up, "moved_down": self.moved_down,
                "newly_in": self.newly_in, "newly_out": self.newly_out,
                "advancing_before": self.advancing_before,
                "advancing_after": self.advancing_after,
                "note_before": self.note_before, "note_after": self.note_after,
                "changes": [c.as_json() for c in self.changes]}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def proposed_settings(stage: Stage, *, weights: Mapping[str, Any] | None = None,
                      quota: Any = UNCHANGED, per_enterprise_cap: Any = UNCHANGED,
                      cutoff_tie_policy: Any = UNCHANGED) -> Settings:
    """Check the given settings over the stage's current ones with the configuration's own
    checks (weights adding up to 100%, a positive quota, …) and return them; FieldErrors
    (``weights.<code>``, ``weight_total``, ``quota``, ``per_enterprise_cap``,
    ``cutoff_tie_policy``, ``_form``) name what is wrong. Weights of components that already
    have scores may differ here: that is what a preview is for."""
    errors: dict[str, str] = {}
    new_weights = dict(Settings.of(stage).weights)
    try:
        new_weights = stage_service.check_weights(stage, weights or {}, frozen=False)
    except FieldErrors as error:
        errors.update(error.errors)
    values = {name: value for name, value in (
        ("quota", quota), ("per_enterprise_cap", per_enterprise_cap),
        ("cutoff_tie_policy", cutoff_tie_policy)) if value is not UNCHANGED}
    clean: dict[str, Any] = {}
    try:
        clean = stage_service.check_settings(stage, values)
    except FieldErrors as error:
        errors.update(error.errors)
    if errors:
        raise FieldErrors(errors)
    settings = Settings(new_weights, clean["quota"], clean["per_enterprise_cap"],
                        CutoffTiePolicy(clean["cutoff_tie_policy"]))
    try:
        _rule(stage_service.scoring_rule(stage), settings)
    except sc.ScoringError as error:
        raise FieldErrors({stage_service.FORM: str(error)}) from None
    return settings


def _rule(rule: sc.StageRule, settings: Settings) -> sc.StageRule:
    """The stage's rule with the settings' weights, quota, cap and cut-off policy."""
    components = tuple(dataclasses.replace(c, weight=settings.weights[c.code])
                       for c in rule.components)
    return dataclasses.replace(rule, components=components, quota=settings.quota,
                               per_enterprise_cap=settings.per_enterprise_cap,
                               cutoff_tie_policy=settings.cutoff_tie_policy.value)


def preview(stage: Stage, *, weights: Mapping[str, Any] | None = None, quota: Any = UNCHANGED,
            per_enterprise_cap: Any = UNCHANGED, cutoff_tie_policy: Any = UNCHANGED) -> Preview:
    """The stage's results and advancement under the given settings (the others as they are),
    against the current settings, from the same stored scores. Writes nothing."""
    from app.services.results import readiness, stage_inputs

    proposed = proposed_settings(stage, weights=weights, quota=quota,
                                 per_enterprise_cap=per_enterprise_cap,
                                 cutoff_tie_policy=cutoff_tie_policy)
    problems = readiness(stage)
    if problems:
        raise ServiceError("；".join(problems), code="conflict")
    inputs = stage_inputs(stage)
    if inputs.entries.empty:
        raise ServiceError(_("The stage has no contestants."), code="conflict")
    current = Settings.of(stage)
    try:
        table_before = sc.compute_results(inputs.rule, inputs.points, inputs.entries)
        table_after = table_before if proposed.weights == current.weights else \
            sc.compute_results(_rule(inputs.rule, proposed), inputs.points, inputs.entries)
        before, note_before = _standings(table_before, current)
        after, note_after = _standings(table_after, proposed)
    except sc.ScoringError as error:
        raise ServiceError(str(error)) from None
    changes = _compare(before, after)
    return Preview(current, proposed, len(before), changes, note_before, note_after,
                   _advancing(before), _advancing(after))


def _standings(table: pd.DataFrame, settings: Settings) -> tuple[pd.DataFrame, str | None]:
    """entry_id → rank, total and standing under ``settings``, and the cut-off note."""
    frame = table[["entry_id", "rank", "total", "eligible"]].copy()
    if settings.quota is None:
        frame["standing"] = None
        return frame.set_index("entry_id"), None
    advancement = sc.select_advancers(table, settings.quota, settings.per_enterprise_cap,
                                      settings.cutoff_tie_policy.value)
    places = advancement.table.set_index("entry_id")
    standing = pd.Series(NOT_ELIGIBLE, index=places.index, dtype=object)
    standing[places["eligible"]] = RESERVE
    standing[places["skipped_for_cap"]] = SKIPPED_FOR_CAP
    standing[places["advanced"]] = ADVANCING
    frame = frame.set_index("entry_id")
    frame["standing"] = standing.reindex(frame.index)
    return frame, advancement.note


def _advancing(frame: pd.DataFrame) -> int | None:
    if frame["standing"].isna().all():
        return None
    return int((frame["standing"] == ADVANCING).sum())


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _rank(value) -> int | None:
    return None if _missing(value) else int(value)


def _compare(before: pd.DataFrame, after: pd.DataFrame) -> list[Change]:
    joined = before.join(after, suffixes=("_before", "_after"))
    ranks = [joined[f"rank_{side}"].astype("Int64") for side in ("before", "after")]
    same_rank = (ranks[0] == ranks[1]).fillna(False) | (ranks[0].isna() & ranks[1].isna())
    standing = [joined[f"standing_{side}"] for side in ("before", "after")]
    advancing = [s == ADVANCING for s in standing]
    # Without a quota on one side there is no list: only advancing or not is compared.
    same_standing = ((standing[0] == standing[1]) | (standing[0].isna() & standing[1].isna())
                     | ((standing[0].isna() | standing[1].isna())
                        & (advancing[0] == advancing[1])))
    changed = joined[~(same_rank & same_standing)]
    columns = [changed[f"{name}_{side}"].astype(object).tolist()
               for name in ("rank", "total", "standing") for side in ("before", "after")]
    changes = [Change(int(entry_id), _rank(rank_b), _rank(rank_a), total_b, total_a,
                      None if _missing(standing_b) else standing_b,
                      None if _missing(standing_a) else standing_a)
               for entry_id, rank_b, rank_a, total_b, total_a, standing_b, standing_a
               in zip(changed.index.tolist(), *columns, strict=True)]
    changes.sort(key=lambda c: (c.advancement is None,
                                c.rank_after if c.rank_after is not None else 10**9, c.entry_id))
    return changes


def apply(stage: Stage, settings: Settings, *, actor: User) -> list[str]:
    """Make ``settings`` the stage's own through the audited configuration services
    (stages.update_stage for quota, cap and cut-off policy, stages.set_weights for weights,
    which refuses new weights for components that already have scores). Returns what changed.
    Results are not recomputed: that takes a new version."""
    current = Settings.of(stage)
    stage_values = {name: getattr(settings, name)
                    for name in ("quota", "per_enterprise_cap", "cutoff_tie_policy")
                    if getattr(settings, name) != getattr(current, name)}
    weights = {code: weight for code, weight in settings.weights.items()
               if current.weights.get(code) != weight}
    errors: dict[str, str] = {}
    for check, values in ((stage_service.check_settings, stage_values),
                          (stage_service.check_weights, weights)):
        if values:
            try:
                check(stage, values)
            except FieldErrors as error:
                errors.update(error.errors)
    if errors:
        raise FieldErrors(errors)
    if stage_values:
        stage_service.update_stage(stage, stage_values, actor=actor)
    if weights:
        stage_service.set_weights(stage, weights, actor=actor)
        db.session.expire(stage, ["components"])
    return list(stage_values) + [f"weights.{code}" for code in weights]
