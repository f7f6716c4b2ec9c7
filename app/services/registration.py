"""Registration rules shared by the demo, the forms and the importers."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from app.extensions import db
from app.inputs import clean_text, parse_number
from app.models import Enterprise, Entry, EntryStatus, EntryStatusChange, Gender, Track, User
from app.services import ServiceError, audit

_SPACES = re.compile(r"\s+")


def enterprise_match_key(name: str) -> str:
    """The form of an enterprise name used to match it: full- and half-width brackets and
    letters made alike (NFKC), every space removed, letters lower-cased."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", name)).lower()


def find_or_create_enterprise(name: str, *, category: str | None = None,
                              city: str | None = None) -> tuple[Enterprise, bool]:
    """The enterprise whose name matches ``name`` (ignoring widths and spaces), or a new one."""
    clean = clean_text(name)
    if not clean:
        raise ServiceError(_("An enterprise name is required."), field="enterprise")
    key = enterprise_match_key(clean)
    found = db.session.scalar(sa.select(Enterprise).where(Enterprise.match_key == key))
    if found is not None:
        return found, False
    enterprise = Enterprise(name=clean, match_key=key, category=category, city=city)
    db.session.add(enterprise)
    db.session.flush()
    return enterprise, True


def issue_exam_number(entry: Entry) -> str:
    """Give an approved entry the next exam number of its track, by the contest's pattern.

    A number, once issued, never changes; the sequence is per contest and track.
    """
    if entry.exam_number:
        return entry.exam_number
    contest, track = entry.contest, entry.track
    last = db.session.scalar(
        sa.select(sa.func.max(Entry.exam_number_seq))
        .where(Entry.contest_id == contest.id, Entry.track_id == track.id)) or 0
    seq = last + 1
    entry.exam_number_seq = seq
    entry.exam_number = contest.exam_number_pattern.format(
        year=contest.year, track_no=track.number, track_code=track.code, seq=seq)
    return entry.exam_number


def change_status(entry: Entry, to_status: EntryStatus, *, reason: str | None = None,
                  actor: User | None = None) -> None:
    """Move an entry along the review chain, keeping its history and the audit log."""
    if to_status == EntryStatus.REJECTED and not (reason or "").strip():
        raise ServiceError(_("A rejection needs a reason the contestant can read."),
                           field="reason")
    from_status = entry.status
    entry.status = to_status
    entry.rejection_reason = reason if to_status == EntryStatus.REJECTED else None
    entry.history.append(EntryStatusChange(from_status=from_status, to_status=to_status,
                                           reason=reason, actor_id=actor.id if actor else None))
    if to_status == EntryStatus.APPROVED:
        issue_exam_number(entry)
    db.session.flush()
    audit.record("entry.status", entry,
                 f"{audit.entry_words(entry)} 报名状态：{audit.entry_status_words(from_status)} → "
                 f"{audit.entry_status_words(to_status)}",
                 before={"status": from_status.value if from_status else None},
                 after={"status": to_status.value, "exam_number": entry.exam_number},
                 reason=reason, actor=actor)


# ---------------------------------------------------------------------------------------------
# Field checks shared by the entry form, the enterprise form and every registration importer.
# Each returns the clean value or raises ServiceError naming the field and the reason in words
# an enterprise clerk understands.

def check_id_number(raw, gender: Gender | None = None) -> tuple[str, date, Gender]:
    """A resident ID number (GB 11643): 18 characters, a real birth date, the check digit;
    the 17th digit's parity must match ``gender`` when given. Returns (number, birth, gender)."""
    if isinstance(raw, float):
        # Excel turned the number into a float (3.20102E+17): its last digits are gone.
        raise ServiceError(_("The ID number was stored as a number and Excel has lost its last "
                             "digits; format the column as text and type it again."),
                           field="id_number")
    number = clean_text(raw).replace(" ", "").upper()
    if not number:
        raise ServiceError(_("The ID number is required."), field="id_number")
    if len(number) != 18:
        raise ServiceError(_("An ID number has 18 characters; this one has %(n)d.", n=len(number)),
                           field="id_number")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ServiceError(_("An ID number has 17 digits followed by a digit or X."),
                           field="id_number")
    try:
        born = ric.get_birth_date(number)
    except ValidationError:
        raise ServiceError(_("The birth date inside the ID number (%(date)s) is not a real date.",
                             date=number[6:14]), field="id_number") from None
    if ric.calc_check_digit(number) != number[17]:
        raise ServiceError(_("The ID number's check digit is wrong; please check every digit."),
                           field="id_number")
    from_number = Gender.MALE if int(number[16]) % 2 else Gender.FEMALE
    if gender is not None and gender != from_number:
        raise ServiceError(_("The gender does not match the ID number (its 17th digit says %(g)s).",
                             g=GENDER_LABELS[from_number]), field="gender")
    return number, born, from_number


GENDER_LABELS = {Gender.MALE: "男", Gender.FEMALE: "女"}
_GENDER_WORDS = {"男": Gender.MALE, "男性": Gender.MALE, "m": Gender.MALE, "male": Gender.MALE,
                 "女": Gender.FEMALE, "女性": Gender.FEMALE, "f": Gender.FEMALE,
                 "female": Gender.FEMALE}


def check_gender(raw) -> Gender:
    word = clean_text(raw).lower()
    if word not in _GENDER_WORDS:
        raise ServiceError(_("Gender must be 男 or 女."), field="gender")
    return _GENDER_WORDS[word]


def age_on(born: date, on: date) -> int:
    """Whole years of age on a date (a birthday on that date counts)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def check_age(born: date, rules: EligibilityRules) -> None:
    if rules.on_date is None:
        return
    age = age_on(born, rules.on_date)
    if rules.min_age is not None and age < rules.min_age:
        raise ServiceError(_("Age %(age)d on %(date)s is below the minimum of %(min)d.", age=age,
                             date=rules.on_date.isoformat(), min=rules.min_age), field="id_number")
    if rules.max_age is not None and age > rules.max_age:
        raise ServiceError(_("Age %(age)d on %(date)s is above the maximum of %(max)d.", age=age,
                             date=rules.on_date.isoformat(), max=rules.max_age), field="id_number")


def check_phone(raw) -> str:
    """An 11-digit mainland mobile number starting with 1 (spaces and dashes ignored)."""
    phone = re.sub(r"[\s-]", "", clean_text(raw))
    if not re.fullmatch(r"1\d{10}", phone):
        raise ServiceError(_("A mobile number has 11 digits and starts with 1."), field="phone")
    return phone


def check_years(raw, rules: EligibilityRules) -> Decimal:
    """Years as team leader: a number from 0 to 80 (at most one decimal, 年 allowed after it)
    meeting the minimum; read by ``parse_number`` like every number that comes in."""
    years = parse_number(raw, places=1, minimum=0, maximum=80, unit="年",
                         label=_("Years as team leader"), field="years_as_leader")
    if rules.min_years is not None and years < rules.min_years:
        raise ServiceError(_("At least %(min)s years as team leader are required.",
                             min=format(rules.min_years.normalize(), "f")),
                           field="years_as_leader")
    return years.quantize(Decimal("0.1"))


@dataclass(frozen=True)
class EligibilityRules:
    """The limits an entry to a track must meet, from its first stage and the contest date."""

    on_date: date | None
    min_age: int | None
    max_age: int | None
    min_years: Decimal | None

    @classmethod
    def for_track(cls, track: Track) -> EligibilityRules:
        first = track.stages[0] if track.stages else None
        return cls(on_date=track.contest.contest_date,
                   min_age=first.min_age if first else None,
                   max_age=first.max_age if first else None,
                   min_years=first.min_years_as_leader if first else None)
