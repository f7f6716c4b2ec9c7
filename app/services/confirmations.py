"""What an irreversible step will do, said before it is taken (publish, finalise, withdraw,
keep a list, decrypt, a ruling that removes an advancer): the console shows these lines and
the step goes ahead only when the confirmation comes back with the same stamp -- a stamp of
the facts shown, so a confirmation given for other facts (another version published, the
list changed meanwhile) is asked again instead of carried out."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from app.extensions import db
from app.models import (
    AdvancementEntry,
    AdvancementList,
    Component,
    ComponentScore,
    ListStatus,
    Objection,
    ResultRow,
    ResultsVersion,
    RulingStatus,
    StageEntry,
    StageEntryStatus,
    VersionStatus,
)
from app.services import results, stage_flow


@dataclass
class Confirmation:
    title: str
    consequences: list[str]
    button: str
    stamp: str
    # The step would be refused anyway (its service says why): nothing to confirm.
    blocked: bool = False


def _stamp(*facts) -> str:
    return hashlib.sha256(json.dumps(facts, default=str).encode()).hexdigest()[:20]


def _stage_name(stage) -> str:
    return f"{stage.track.name}·{stage.name}"


def _rows(version: ResultsVersion) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ResultRow).where(
        ResultRow.version_id == version.id)) or 0


def _list_name(listing: AdvancementList) -> str:
    return _("the advancement list of %(stage)s (%(state)s, from version %(n)d, %(count)d "
             "advancers)", stage=_stage_name(listing.stage),
             state=results._list_state(listing), n=listing.version.number,
             count=len(results.advancers(listing)))


def publish(version: ResultsVersion) -> Confirmation:
    stage = version.stage
    count = _rows(version)
    previous = results.latest_published(stage)
    lines = [_("Version %(n)d of %(stage)s, with %(count)d contestants, is published: "
               "contestants and enterprise contacts see it.", n=version.number,
               stage=_stage_name(stage), count=count)]
    facts: list = [version.id, version.status.value, count]
    if previous is not None:
        changed = results._changed_entries(version, previous, limit=1001)
        lines.append(_("Version %(old)d is superseded (kept, no longer shown); %(changed)s "
                       "contestants' lines differ from it.", old=previous.number,
                       changed=len(changed) if len(changed) <= 1000 else _("over 1000")))
        facts += [previous.id, len(changed)]
        listing = db.session.scalar(sa.select(AdvancementList).where(
            AdvancementList.version_id == previous.id,
            AdvancementList.status.in_([ListStatus.DRAFT, ListStatus.NOTICE])).limit(1))
        if listing is not None:
            lines.append(_("%(list)s will be flagged as drawn up from superseded results and "
                           "cannot be finalised until you withdraw it and draw up a new one, or "
                           "confirm keeping it.", list=_list_name(listing)))
            facts.append(listing.id)
        from app.services import eligibility

        pool = eligibility.pool_of(stage)
        if pool is not None:
            lines.append(_("The eligibility pool (top %(m)d) is drawn again by the ranks of "
                           "version %(n)d: decisions taken stay with their people; whoever "
                           "newly joins it is undecided.", m=pool.size, n=version.number))
            facts.append(pool.id)
    from app.services.rechecks import publication_blocker

    blocked = (version.status != VersionStatus.DRAFT or bool(publication_blocker(version))
               or bool(stage_flow.refusal(stage, stage_flow.Step.VERSION_PUBLISHED)))
    return Confirmation(_("Publish version %(n)d?", n=version.number), lines,
                        _("Yes, publish version %(n)d", n=version.number),
                        _stamp("publish", *facts), blocked)


def finalise(listing: AdvancementList) -> Confirmation:
    stage = listing.stage
    following = results.following_stage(stage)
    count = len(results.advancers(listing))
    lines = [_("%(list)s becomes final; it can no longer be withdrawn or changed.",
               list=_list_name(listing))]
    if following is not None:
        lines.append(_("Its %(count)d advancers enter %(next)s.", count=count,
                       next=following.name))
    lines.append(_("%(stage)s becomes final.", stage=_stage_name(stage)))
    blocked = (listing.status != ListStatus.NOTICE or bool(results.finalise_blockers(listing))
               or bool(stage_flow.refusal(stage, stage_flow.Step.LIST_FINAL)))
    return Confirmation(_("Finalise the advancement list?"), lines, _("Yes, finalise the list"),
                        _stamp("finalise", listing.id, listing.status.value, count,
                               following.id if following else None), blocked)


def withdraw(listing: AdvancementList) -> Confirmation:
    stage = listing.stage
    latest = results.latest_published(stage)
    lines = [_("%(list)s is withdrawn.", list=_list_name(listing))]
    if listing.status == ListStatus.NOTICE:
        lines.append(_("The public notice stays readable, marked as withdrawn with the time and "
                       "your reason; the stage returns to provisional results."))
    if latest is not None:
        lines.append(_("A new list can then be drawn up from version %(n)d, the published one.",
                       n=latest.number))
    return Confirmation(_("Withdraw the advancement list?"), lines, _("Yes, withdraw the list"),
                        _stamp("withdraw", listing.id, listing.status.value,
                               latest.id if latest else None),
                        listing.status not in (ListStatus.DRAFT, ListStatus.NOTICE))


def keep(listing: AdvancementList) -> Confirmation:
    newer = results.undecided_newer_version(listing)
    number = newer.number if newer else 0
    lines = [_("%(list)s is kept although version %(n)d has been published since.",
               list=_list_name(listing), n=number),
             _("The public notice records the decision with your reason and its date; the list "
               "can then be finalised.")]
    return Confirmation(_("Keep the advancement list?"), lines, _("Yes, keep the list"),
                        _stamp("keep", listing.id, newer.id if newer else None), newer is None)


def decrypt(component: Component, witness: str) -> Confirmation:
    scored = db.session.scalar(sa.select(sa.func.count()).select_from(ComponentScore).where(
        ComponentScore.component_id == component.id)) or 0
    people = db.session.scalar(sa.select(sa.func.count()).select_from(StageEntry).where(
        StageEntry.stage_id == component.stage_id,
        StageEntry.status != StageEntryStatus.WITHDRAWN)) or 0
    lines = [_("The names behind the %(n)d scored workstations of %(component)s (%(stage)s, "
               "%(people)d contestants) are revealed to the organisers.", n=scored,
               component=component.name, stage=_stage_name(component.stage), people=people),
             _("The decryption is recorded with you as operator and %(witness)s as witness; it "
               "cannot be undone.", witness=witness.strip())]
    return Confirmation(_("Decrypt %(component)s?", component=component.name), lines,
                        _("Yes, reveal the names"),
                        _stamp("decrypt", component.id, scored, witness.strip()),
                        not component.is_signed_off)


def upheld_objection(objection: Objection, ruling: str) -> Confirmation:
    target = db.session.get(AdvancementEntry, objection.advancement_entry_id)
    listing = target.list
    newcomers = results.replacement_preview(target)
    who = results.person(target.stage_entry_id)
    lines = [_("%(who)s is removed from %(list)s.", who=who, list=_list_name(listing))]
    if newcomers:
        lines.append(_("The place passes by rank to %(by)s (递补); the public notice lists the "
                       "change with its date and your reason.",
                       by="、".join(str(results.person(i)) for i in newcomers)))
    else:
        lines.append(_("No eligible contestant is left to take the place."))
    return Confirmation(_("Uphold the objection against %(who)s?", who=who), lines,
                        _("Yes, uphold it and remove %(name)s", name=who.name),
                        _stamp("uphold", objection.id, objection.status.value, target.id,
                               newcomers),
                        objection.status != RulingStatus.OPEN or not ruling.strip())


def revoke_certificate(certificate, reason: str | None) -> Confirmation:
    """A certificate's revocation: what the holder, the print view and the public
    verification page will show afterwards."""
    reason = (reason or "").strip()
    lines = [_("Certificate %(number)s of %(name)s (%(award)s, %(stage)s) is revoked, with the "
               "reason: %(reason)s", number=certificate.number, name=certificate.holder_name,
               award=certificate.award, stage=_stage_name(certificate.stage), reason=reason),
             _("It can no longer be printed; its verification page says it was revoked and "
               "when. Its number is never given again.")]
    return Confirmation(_("Revoke certificate %(number)s?", number=certificate.number), lines,
                        _("Yes, revoke the certificate"),
                        _stamp("revoke-certificate", certificate.id, reason),
                        certificate.revoked_at is not None or not reason)
