"""A component's marking scheme: the tree criterion → sub-criterion → item, edited node by node
or replaced whole (JSON from the API, rows from an Excel sheet)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _

import scoring as sc
from app.extensions import db
from app.inputs import clean_text
from app.models import (
    Ability,
    Component,
    DisqualifyScope,
    ItemKind,
    MarkingItem,
    MarkingNode,
    User,
)
from app.services import FieldErrors, ServiceError, audit
from app.services.contests import Problems, checked_text, decimal, one_of, text
from app.services.stages import has_scores

NODE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
JUDGEMENT_GRADES = ("0", "1", "2", "3")
NODE_FIELDS = ("node", "code", "title", "kind", "maximum", "all_or_nothing",
               "deduction_per_occurrence", "disqualify_scope", "descriptors")
# Which node may sit under which (None: the top of the scheme).
ALLOWED_PARENTS = {
    MarkingNode.CRITERION: (None,),
    MarkingNode.SUB_CRITERION: (MarkingNode.CRITERION,),
    MarkingNode.ITEM: (None, MarkingNode.CRITERION, MarkingNode.SUB_CRITERION),
}


@dataclass
class SchemeNode:
    """A node of the scheme as pages show it, with the sum of the item maxima beneath it."""

    item: MarkingItem
    depth: int
    children: list[SchemeNode] = field(default_factory=list)
    total: Decimal = Decimal(0)


def _children(component: Component) -> dict[int | None, list[MarkingItem]]:
    by_parent: dict[int | None, list[MarkingItem]] = {}
    for item in sorted(component.items, key=lambda i: (i.sort_order, i.id or 0)):
        by_parent.setdefault(item.parent_id, []).append(item)
    return by_parent


def scheme_tree(component: Component) -> list[SchemeNode]:
    """The scheme as a tree in its order; each node carries the total of its items' maxima."""
    by_parent = _children(component)

    def build(parent_id: int | None, depth: int) -> list[SchemeNode]:
        nodes = []
        for item in by_parent.get(parent_id, []):
            node = SchemeNode(item, depth, build(item.id, depth + 1))
            node.total = (item.maximum or Decimal(0)) if item.node == MarkingNode.ITEM else \
                sum((child.total for child in node.children), Decimal(0))
            nodes.append(node)
        return nodes

    return build(None, 0)


def flat_tree(component: Component) -> list[SchemeNode]:
    """Every node in display order (pre-order)."""
    out: list[SchemeNode] = []

    def walk(nodes: list[SchemeNode]) -> None:
        for node in nodes:
            out.append(node)
            walk(node.children)

    walk(scheme_tree(component))
    return out


def items_total(component: Component) -> Decimal:
    """The sum of the maxima of the scheme's items (criteria only group them)."""
    return sum((i.maximum or Decimal(0) for i in component.items if i.node == MarkingNode.ITEM),
               Decimal(0))


def _criterion_path(item: MarkingItem, by_id: dict[int, MarkingItem]) -> tuple[str, ...]:
    path = []
    parent = by_id.get(item.parent_id) if item.parent_id else None
    while parent is not None:
        path.append(f"{parent.code} {parent.title}")
        parent = by_id.get(parent.parent_id) if parent.parent_id else None
    return tuple(reversed(path))


def scoring_scheme(component: Component) -> sc.MarkingScheme:
    """The component's scheme as the scoring engine's MarkingScheme (raises ScoringError)."""
    by_id = {i.id: i for i in component.items}
    items = []
    for node in flat_tree(component):
        item = node.item
        if item.node != MarkingNode.ITEM:
            continue
        items.append(sc.MarkingItem(
            item.code, item.kind.value if item.kind else "", item.maximum or Decimal(0),
            all_or_nothing=item.all_or_nothing,
            deduction_per_occurrence=item.deduction_per_occurrence,
            disqualify_scope=(item.disqualify_scope or DisqualifyScope.COMPONENT).value,
            ability=item.ability.name if item.ability else None,
            criterion=_criterion_path(item, by_id), name=item.title))
    overrun = None
    if component.time_limit_minutes:
        overrun = sc.TimeOverrunRule(
            component.time_limit_minutes, component.overrun_deduction_per_minute or Decimal(0),
            component.overrun_disqualify_after_minutes)
    return sc.MarkingScheme(tuple(items), time_overrun=overrun,
                            decimals=component.stage.decimals)


def scheme_problems(component: Component) -> list[str]:
    """Why a judged component's scheme cannot be used for scoring yet (empty: it can)."""
    if not any(i.node == MarkingNode.ITEM for i in component.items):
        return [_("%(name)s has no marking items yet.", name=component.name)]
    try:
        scoring_scheme(component)
    except sc.ScoringError as error:
        return [f"{component.name}：{error}"]
    total = items_total(component)
    if total != component.maximum:
        return [_("The items of %(name)s add up to %(total)s points, but the component's "
                  "maximum is %(maximum)s.", name=component.name, total=_plain(total),
                  maximum=_plain(component.maximum))]
    return []


def _plain(value: Decimal) -> str:
    text_ = format(value, "f")
    return text_.rstrip("0").rstrip(".") if "." in text_ else text_


# ---------------------------------------------------------------------------------------------
# Checking one node


def check_editable(component: Component) -> None:
    if has_scores(component):
        raise ServiceError(_("Scores exist for %(name)s; its marking scheme can no longer "
                             "change.", name=component.name), code="scored")


def _descriptors(raw: Any, problems: Problems, prefix: str) -> dict[str, str] | None:
    if raw in (None, "", {}):
        return None
    if not isinstance(raw, Mapping):
        problems.add(f"{prefix}descriptors", _("Descriptors are given per grade 0 to 3."))
        return None
    out = {}
    for key, value in raw.items():
        key = str(key)
        if key not in JUDGEMENT_GRADES:
            problems.add(f"{prefix}descriptors", _("Descriptors are given per grade 0 to 3."))
            continue
        value = checked_text({key: value}, key, (refused := Problems()), multiline=True)
        for message in refused.errors.values():
            problems.add(f"{prefix}descriptor_{key}", message)
        value = value or ""
        if len(value) > 300:
            problems.add(f"{prefix}descriptor_{key}", _("At most %(n)s characters.", n=300))
        if value:
            out[key] = value
    return {k: out[k] for k in JUDGEMENT_GRADES if k in out} or None


def check_node(component: Component, values: Mapping, *, prefix: str = "",
               parent_kind: MarkingNode | None = None, has_parent: bool = False,
               problems: Problems | None = None) -> dict[str, Any]:
    """One node's values checked by the rules of DOMAIN "Judging" and the scoring engine:
    criteria group, items score; an item's maximum is never below 0 (a disqualifying item's is
    0, every other item's more than 0); a deduction item needs its points per occurrence;
    all-or-nothing is for measurement items, descriptors for judgement items, a disqualifying
    scope for disqualifying items. Field names are ``prefix + name``."""
    own = problems is None
    problems = Problems() if problems is None else problems
    sub = Problems()
    node = one_of(values, "node", sub, MarkingNode)
    clean: dict[str, Any] = {
        "node": node,
        "code": None,
        "title": text(values, "title", sub, required=True, max_length=300),
        "kind": None, "maximum": None, "all_or_nothing": False,
        "deduction_per_occurrence": None, "disqualify_scope": None, "descriptors": None,
    }
    raw_code = checked_text(values, "code", sub)
    if raw_code is None:
        pass  # refused: a control or format character
    elif not raw_code:
        sub.add("code", _("This field is required."))
    elif not NODE_CODE.match(raw_code):
        sub.add("code", _("A code is 1 to 40 letters, digits, ., - or _."))
    clean["code"] = raw_code or None
    if node is not None and (parent_kind if has_parent else None) not in ALLOWED_PARENTS[node]:
        sub.add("parent", _("A criterion is at the top; a sub-criterion sits under a criterion; "
                            "an item under a criterion or sub-criterion."))
    if node == MarkingNode.ITEM:
        decimals = component.stage.decimals
        kind = one_of(values, "kind", sub, ItemKind)
        clean["kind"] = kind
        maximum = decimal(values, "maximum", sub, places=3,
                          required=kind not in (ItemKind.DISQUALIFYING, None),
                          label=_("The maximum"))
        if maximum is not None and maximum < 0:
            sub.add("maximum", _("An item's maximum cannot be below 0."))
        elif kind == ItemKind.DISQUALIFYING:
            if maximum not in (None, Decimal(0)):
                sub.add("maximum", _("A disqualifying item scores nothing: its maximum is 0."))
            maximum = Decimal(0)
        elif maximum is not None and maximum == 0:
            sub.add("maximum", _("An item's maximum must be more than 0 (only a disqualifying "
                                 "item has 0)."))
        elif maximum is not None and \
                maximum.scaleb(decimals) != maximum.scaleb(decimals).to_integral_value():
            sub.add("maximum", _("The stage publishes %(n)s decimals; the maximum may not have "
                                 "more.", n=decimals))
        clean["maximum"] = maximum
        clean["all_or_nothing"] = bool(values.get("all_or_nothing"))
        if clean["all_or_nothing"] and kind not in (ItemKind.MEASUREMENT, None):
            sub.add("all_or_nothing", _("Only a measurement item can be all-or-nothing."))
        per = decimal(values, "deduction_per_occurrence", sub, places=3,
                      label=_("The deduction per occurrence"))
        if kind == ItemKind.DEDUCTION:
            if per is None and "deduction_per_occurrence" not in sub:
                sub.add("deduction_per_occurrence",
                        _("A deduction item needs the points deducted per occurrence."))
            elif per is not None and per <= 0:
                sub.add("deduction_per_occurrence",
                        _("The deduction per occurrence must be more than 0."))
        elif per is not None:
            sub.add("deduction_per_occurrence",
                    _("Only a deduction item deducts points per occurrence."))
        clean["deduction_per_occurrence"] = per if kind == ItemKind.DEDUCTION else None
        scope = one_of(values, "disqualify_scope", sub, DisqualifyScope, required=False)
        if kind == ItemKind.DISQUALIFYING:
            clean["disqualify_scope"] = scope or DisqualifyScope.COMPONENT
        descriptors = _descriptors(values.get("descriptors"), sub, "")
        if descriptors and kind not in (ItemKind.JUDGEMENT, None):
            sub.add("descriptors", _("Only a judgement item has descriptors for grades 0 to 3."))
        clean["descriptors"] = descriptors if kind == ItemKind.JUDGEMENT else None
    for name, message in sub.errors.items():
        problems.add(f"{prefix}{name}", message)
    if own:
        problems.raise_if_any()
    return clean


def _ability(component: Component, value: Any, problems: Problems, field: str) -> Ability | None:
    """An ability of the component's contest: the object itself, or its code (or name)."""
    if value in (None, ""):
        return None
    contest = component.stage.track.contest
    if isinstance(value, Ability):
        if value.contest_id == contest.id:
            return value
        value = value.name
    else:
        try:
            text_ = clean_text(value)
        except ServiceError as error:
            problems.add(field, error.message)
            return None
        for ability in contest.abilities:
            if text_ == ability.code:
                return ability
        for ability in contest.abilities:
            if text_ == ability.name:
                return ability
    problems.add(field, _("%(value)s is not an ability of this contest.", value=value))
    return None


def _renumber(component: Component) -> None:
    """sort_order follows the tree's display order, so one ORDER BY gives the scheme."""
    for order, node in enumerate(flat_tree(component)):
        node.item.sort_order = order


def _rows(component: Component) -> list[dict[str, Any]]:
    """The scheme as flat rows in order, each naming its parent and ability by code."""
    return [_row(node.item) for node in flat_tree(component)]


scheme_rows = _rows


# ---------------------------------------------------------------------------------------------
# Node by node


def _descendants(item: MarkingItem) -> list[MarkingItem]:
    by_parent = _children(item.component)
    out: list[MarkingItem] = []
    stack = list(by_parent.get(item.id, []))
    while stack:
        child = stack.pop()
        out.append(child)
        stack.extend(by_parent.get(child.id, []))
    return out


def add_node(component: Component, values: Mapping, *, actor: User | None = None
             ) -> MarkingItem:
    """Add a node as the last child of ``values["parent"]`` (a MarkingItem or None)."""
    check_editable(component)
    parent = values.get("parent")
    problems = Problems()
    clean = check_node(component, values, parent_kind=parent.node if parent else None,
                       has_parent=parent is not None, problems=problems)
    ability = _ability(component, values.get("ability"), problems, "ability")
    if parent is not None and parent.component_id != component.id:
        problems.add("parent", _("The parent belongs to another component."))
    if clean["code"] and any(i.code == clean["code"] for i in component.items):
        problems.add("code", _("The code %(code)s is already used in this scheme.",
                               code=clean["code"]))
    problems.raise_if_any()
    before = items_total(component)
    item = MarkingItem(component=component, parent=parent, ability=ability,
                       sort_order=len(component.items) + 1000, **clean)
    db.session.add(item)
    db.session.flush()
    _renumber(component)
    db.session.flush()
    audit.record("scheme.add", item, f"评分标准 {_label(component)} 新增 {item.code} {item.title}",
                 before={"items_total": _plain(before)},
                 after={**_row(item), "items_total": _plain(items_total(component))},
                 actor=actor)
    return item


def _row(item: MarkingItem) -> dict[str, Any]:
    row = audit.snapshot(item, NODE_FIELDS)
    row["parent"] = item.parent.code if item.parent is not None else None
    row["ability"] = item.ability.code if item.ability is not None else None
    return row


def _label(component: Component) -> str:
    stage = component.stage
    return f"{stage.track.contest.code}/{stage.track.code}/{stage.seq}/{component.code}"


def update_node(item: MarkingItem, values: Mapping, *, actor: User | None = None
                ) -> MarkingItem:
    """Change a node; ``values["parent"]`` may move it under another node (not its own)."""
    component = item.component
    check_editable(component)
    parent = values.get("parent", item.parent)
    problems = Problems()
    clean = check_node(component, {**_row(item), **values, "descriptors": values.get(
        "descriptors", item.descriptors)}, parent_kind=parent.node if parent else None,
        has_parent=parent is not None, problems=problems)
    ability = _ability(component, values.get("ability", item.ability),
                       problems, "ability")
    descendants = _descendants(item)
    if parent is not None and (parent is item or parent in descendants):
        problems.add("parent", _("A node cannot move under itself."))
    if parent is not None and parent.component_id != component.id:
        problems.add("parent", _("The parent belongs to another component."))
    if clean["code"] and any(i.code == clean["code"] and i is not item for i in component.items):
        problems.add("code", _("The code %(code)s is already used in this scheme.",
                               code=clean["code"]))
    node = clean["node"]
    for child in _children(component).get(item.id, []):
        if node is not None and node not in ALLOWED_PARENTS[child.node]:
            problems.add("node", _("%(code)s has nodes under it that cannot sit under this kind "
                                   "of node.", code=item.code))
            break
    problems.raise_if_any()
    before = _row(item)
    for name, value in clean.items():
        setattr(item, name, value)
    item.parent, item.ability = parent, ability
    db.session.flush()
    _renumber(component)
    db.session.flush()
    after = _row(item)
    if before != after:
        audit.record("scheme.update", item, f"评分标准 {_label(component)} 修改 {item.code}",
                     before=before, after=after, actor=actor)
    return item


def delete_node(item: MarkingItem, *, actor: User | None = None) -> int:
    """Delete a node and everything under it; returns how many nodes went."""
    component = item.component
    check_editable(component)
    doomed = [item, *_descendants(item)]
    before = [_row(i) for i in doomed]
    for node in doomed:
        node.parent = None
    db.session.flush()
    for node in doomed:
        component.items.remove(node)
    db.session.flush()
    _renumber(component)
    db.session.flush()
    audit.record("scheme.delete", component,
                 f"评分标准 {_label(component)} 删除 {item.code} 及其下 {len(doomed) - 1} 项",
                 before={"nodes": before}, after={"items_total": _plain(items_total(component))},
                 actor=actor)
    return len(doomed)


def move_node(item: MarkingItem, offset: int, *, actor: User | None = None) -> None:
    """Move a node one place up (offset < 0) or down among its siblings."""
    component = item.component
    check_editable(component)
    siblings = _children(component).get(item.parent_id, [])
    index = siblings.index(item)
    other = index + (1 if offset > 0 else -1)
    if not 0 <= other < len(siblings):
        return
    siblings[index], siblings[other] = siblings[other], siblings[index]
    _renumber_with_siblings(component, item.parent_id, siblings)
    db.session.flush()
    audit.record("scheme.move", item, f"评分标准 {_label(component)} 调整 {item.code} 的顺序",
                 after={"order": [s.code for s in siblings]}, actor=actor)


def _renumber_with_siblings(component: Component, parent_id: int | None,
                            siblings: list[MarkingItem]) -> None:
    by_parent = _children(component)
    by_parent[parent_id] = siblings
    order = 0

    def walk(pid: int | None) -> None:
        nonlocal order
        for node in by_parent.get(pid, []):
            node.sort_order = order
            order += 1
            walk(node.id)

    walk(None)


# ---------------------------------------------------------------------------------------------
# The whole scheme at once


def flatten(nodes: list[Mapping], parent: str | None = None) -> list[dict[str, Any]]:
    """Nested nodes (``children`` lists) as flat rows naming their ``parent`` by code."""
    rows: list[dict[str, Any]] = []
    for node in nodes:
        row = {k: v for k, v in node.items() if k != "children"}
        row["parent"] = parent
        rows.append(row)
        rows.extend(flatten(node.get("children") or [], node.get("code") or None))
    return rows


def as_nested(component: Component) -> list[dict[str, Any]]:
    """The scheme as nested JSON-safe dicts (``children``), with each node's total of maxima."""

    def convert(node: SchemeNode) -> dict[str, Any]:
        item = node.item
        out = audit.snapshot(item, NODE_FIELDS)
        out["ability"] = item.ability.code if item.ability else None
        out["total"] = _plain(node.total)
        out["children"] = [convert(child) for child in node.children]
        return out

    return [convert(node) for node in scheme_tree(component)]


def replace_scheme(component: Component, rows: list[Mapping], *, actor: User | None = None,
                   field_prefix=lambda i: f"nodes.{i}.") -> list[MarkingItem]:
    """Replace the whole scheme by ``rows`` (flat, in order; each names its ``parent`` by code
    and its ``ability`` by code, id or name). Every row is checked before anything changes;
    errors are named ``nodes.<row index>.<field>``. Refused once the component has scores."""
    check_editable(component)
    problems = Problems()
    checked: list[tuple[dict, str | None, Ability | None]] = []
    kinds: dict[str, MarkingNode | None] = {}
    for index, row in enumerate(rows):
        prefix = field_prefix(index)
        if not isinstance(row, Mapping):
            problems.add(f"{prefix}code", _("Each node must be an object."))
            continue
        parent_code = checked_text(row, "parent", (refused := Problems())) or None
        for message in refused.errors.values():
            problems.add(f"{prefix}parent", message)
        if parent_code is not None and parent_code not in kinds:
            problems.add(f"{prefix}parent", _("The parent %(code)s must come before this node.",
                                              code=parent_code))
        clean = check_node(component, row, prefix=prefix, problems=problems,
                           parent_kind=kinds.get(parent_code) if parent_code else None,
                           has_parent=parent_code is not None)
        ability = _ability(component, row.get("ability"), problems, f"{prefix}ability")
        if clean["code"]:
            if clean["code"] in kinds:
                problems.add(f"{prefix}code", _("The code %(code)s is already used in this "
                                                "scheme.", code=clean["code"]))
            kinds[clean["code"]] = clean["node"]
        checked.append((clean, parent_code, ability))
    problems.raise_if_any()
    before = _rows(component)
    for item in component.items:
        item.parent = None
    db.session.flush()
    for item in list(component.items):
        component.items.remove(item)
    db.session.flush()
    created: dict[str, MarkingItem] = {}
    for order, (clean, parent_code, ability) in enumerate(checked):
        item = MarkingItem(component=component, parent=created.get(parent_code) if parent_code
                           else None, ability=ability, sort_order=order, **clean)
        db.session.add(item)
        created[item.code] = item
    db.session.flush()
    _renumber(component)
    db.session.flush()
    after = _rows(component)
    if before != after:
        audit.record("scheme.replace", component,
                     f"替换评分标准 {_label(component)}：{len(after)} 个节点，"
                     f"评分项满分合计 {_plain(items_total(component))}",
                     before={"nodes": before}, after={"nodes": after}, actor=actor)
    return list(created.values())


def replace_nested(component: Component, nodes: list[Mapping], *, actor: User | None = None
                   ) -> list[MarkingItem]:
    """replace_scheme for nested JSON nodes; errors are named by the node's position."""
    if not isinstance(nodes, list):
        raise FieldErrors({"nodes": _("The scheme must be a list of nodes.")})
    return replace_scheme(component, flatten(nodes), actor=actor)
