"""What comes in from outside, checked once where it enters: text, numbers and record ids.

Every form, API body, query string, URL and imported cell goes through these functions, so
hostile input (a NUL byte, a right-to-left override, ``1e300``, ``NaN``, an id beyond the
database's integer range) gets the same clear refusal everywhere instead of a server error.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.routing import IntegerConverter, UnicodeConverter

from app.services import ServiceError

#: Record ids and every other whole number the database stores are 32-bit signed integers.
ID_MAX = 2**31 - 1
#: Decimals the database stores have at most 12 digits before the point (Numeric / units).
DECIMAL_LIMIT = Decimal(10) ** 12

# Characters no name or shown text may contain. Control characters (NUL, which PostgreSQL
# refuses, and the rest of C0/C1 but tab and line breaks); Unicode format characters, among
# them the bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069),
# the direction marks U+200E/U+200F/U+061C and the zero-width characters, which let a name on
# a public notice display as somebody else's; lone surrogates, which no database can encode.
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}
_CONTROL, _FORMAT, _SURROGATE = "Cc", "Cf", "Cs"

# Chinese text convention: letters and digits half-width, brackets full-width.
_WIDTHS = {**{0xFF10 + i: 0x30 + i for i in range(10)},
           **{0xFF21 + i: 0x41 + i for i in range(26)},
           **{0xFF41 + i: 0x61 + i for i in range(26)},
           ord("("): "（", ord(")"): "）", 0x3000: " ", 0xFF0E: ".", 0xFF0D: "-", 0xFF0B: "+"}
_SPACES = re.compile(r"\s+")
_LINE_SPACES = re.compile(r"[^\S\n]+")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x85\x0b\x0c]")


def text_problem(text: str) -> str | None:
    """Why ``text`` may not be stored or shown (in the user's language), or None when it may."""
    if text.isprintable():  # the common case, checked in C: no control or format character
        return None
    for char in text:
        if char.isprintable() or char == " ":  # fast path: every ordinary character
            continue
        category = unicodedata.category(char)
        if category == _CONTROL and char not in _ALLOWED_CONTROLS:
            return _("This text contains a control character (such as a NUL byte); "
                     "remove it.")
        if category == _FORMAT:
            return _("This text contains an invisible character that changes how it is "
                     "shown (such as a right-to-left mark); remove it.")
        if category == _SURROGATE:
            return _("This text contains a character that is not valid; remove it.")
    return None


def visible_text(text: str) -> str:
    """``text`` with each character ``text_problem`` would refuse shown as U+FFFD, for echoing
    a refused value back (an import's error report, a message) without storing or showing it."""
    if text_problem(text) is None:
        return text
    return "".join("\ufffd" if not (char.isprintable() or char == " " or char in _ALLOWED_CONTROLS)
                   and unicodedata.category(char) in (_CONTROL, _FORMAT, _SURROGATE) else char
                   for char in text)


def clean_text(raw: Any, *, multiline: bool = False, field: str | None = None) -> str:
    """The one cleaning of text that comes in (forms, API bodies, imported cells).

    Refused (ServiceError naming ``field``): control characters, bidirectional and other
    invisible format characters. Then letters and digits are made half-width and brackets
    full-width (as Chinese names are published), runs of spaces become one and the ends are
    trimmed; ``multiline`` keeps line breaks (one per line, each line trimmed). A number Excel
    stored as a number comes back without a trailing .0.
    """
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < 1e15:
        raw = int(raw)  # an Excel number that is an integer (1e300 stays 1e+300)
    text = raw if isinstance(raw, str) else str(raw)
    problem = text_problem(text)
    if problem:
        raise ServiceError(problem, field=field, code="invalid_text")
    text = text.translate(_WIDTHS)
    if not multiline:
        return _SPACES.sub(" ", text).strip()
    lines = (_LINE_SPACES.sub(" ", line).strip() for line in _LINE_BREAKS.sub("\n", text).split("\n"))
    return "\n".join(line for line in lines if line)


def text_or_problem(raw: Any, *, multiline: bool = False) -> tuple[str, str | None]:
    """``clean_text`` for a service that collects every field's problem: (text, None), or
    ("", why the text is refused)."""
    try:
        return clean_text(raw, multiline=multiline), None
    except ServiceError as error:
        return "", error.message


def parse_number(raw: Any, *, places: int | None = None, whole: bool = False,
                 minimum: int | Decimal | None = None, maximum: int | Decimal | None = None,
                 unit: str | None = None, label: str | None = None,
                 field: str | None = None) -> Decimal | int:
    """The one reading of a number that comes in (forms, API bodies, imported cells).

    Text is read as written in plain digits (full-width digits and a trailing ``unit`` such as
    年 or 分 allowed); scientific notation, NaN, infinities and values beyond the database's
    range are refused with a clear message (ServiceError naming ``field``), as are more than
    ``places`` decimals and values outside ``minimum``..``maximum``. An Excel number (a float)
    is taken by what Excel shows: its shortest form, at most 15 significant digits. ``whole``
    gives an int within the database's integer range, else an exact Decimal.
    """
    what = label or _("The value")

    def refuse(message: str):
        return ServiceError(message, field=field, code="invalid_number")

    if isinstance(raw, bool) or raw is None:
        raise refuse(_("Enter a number."))
    if isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise refuse(_("Enter a number."))
        value = Decimal(repr(raw))
        if len(value.as_tuple().digits) > 15:
            value = Decimal(format(raw, ".15g"))
    else:
        text = clean_text(raw, field=field).replace(" ", "")
        if unit:
            text = text.removesuffix(unit)
        if re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)[eE][+-]?\d+", text):
            raise refuse(_("Write the number in plain digits, without an exponent "
                           "(such as 1e5)."))
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
            raise refuse(_("Enter a whole number.") if whole else _("Enter a number."))
        if len(text.lstrip("+-").split(".")[0].lstrip("0")) > 15:
            raise refuse(_("This number is too large."))
        try:
            value = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern above admits only numbers
            raise refuse(_("Enter a number.")) from None
    if not value.is_finite():
        raise refuse(_("Enter a number."))
    if abs(value) >= (ID_MAX + 1 if whole else DECIMAL_LIMIT):
        raise refuse(_("This number is too large."))
    if whole and value != value.to_integral_value():
        raise refuse(_("Enter a whole number."))
    if places is not None and value != value.quantize(Decimal(1).scaleb(-places)):
        raise refuse(_("%(what)s may have at most %(n)s decimals.", what=what, n=places))
    if minimum is not None and value < minimum:
        raise refuse(_("%(what)s must be at least %(n)s.", what=what, n=minimum))
    if maximum is not None and value > maximum:
        raise refuse(_("%(what)s must be at most %(n)s.", what=what, n=maximum))
    return int(value) if whole else value


def parse_id(raw: Any) -> int | None:
    """A record id as sent in a URL, form or query string: plain ASCII digits within the
    database's range (1..2**31-1), else None (no such record)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 1 <= raw <= ID_MAX else None
    text = str(raw).strip() if raw is not None else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= ID_MAX else None


def hostile_json(body: Any, path: str = "") -> list[dict[str, str | None]]:
    """What in a JSON request body can never be right, as ``{"field", "reason"}`` details:
    text with control or invisible format characters (keys too), numbers that are not finite
    (Python's JSON reader accepts NaN and Infinity), whole numbers beyond the database's
    integer range and decimals beyond its 12 digits."""
    found: list[dict[str, str | None]] = []

    def visit(value: Any, where: str) -> None:
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                found.append({"field": where or None, "reason": problem})
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int):
            if abs(value) > ID_MAX:
                found.append({"field": where or None, "reason": _("This number is too large.")})
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                found.append({"field": where or None, "reason": _("Enter a number.")})
            elif abs(value) >= DECIMAL_LIMIT:
                found.append({"field": where or None, "reason": _("This number is too large.")})
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{where}.{key}" if where else str(key)
                if text_problem(str(key)):
                    found.append({"field": None, "reason": text_problem(str(key))})
                    continue
                visit(item, name)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, f"{where}.{index}" if where else str(index))

    visit(body, path)
    return found


def parse_version(raw: Any) -> int:
    """A record's version as a page sends it back (a sheet's, for "changed elsewhere"
    checks): 0 when absent; anything but a whole number 0..2**31-1 is -1, which is never a
    stored version, so the save is refused as stale instead of taken for version 0."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return 0
    try:
        return parse_number(raw, whole=True, minimum=0)
    except ServiceError:
        return -1


# ---------------------------------------------------------------------------------------------
# The URL boundary


def _up_to(limit: int) -> str:
    """A regular expression matching exactly the decimal numbers 1..``limit`` (no leading 0)."""
    digits = str(limit)
    options = [rf"[1-9]\d{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        rest = len(digits) - i - 1
        low = "1" if i == 0 else "0"
        high = int(digit) - 1 if rest else int(digit)
        if high >= int(low):
            options.append(digits[:i] + f"[{low}-{high}]" + (rf"\d{{{rest}}}" if rest else ""))
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: a whole number 1..2**31-1 in plain digits. Anything else
    matches no route at all (404, whatever the method), so an id beyond the database's
    integer range never reaches a query."""

    regex = _up_to(ID_MAX)

    def __init__(self, map, fixed_digits=0, min=1, max=ID_MAX, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class TextConverter(UnicodeConverter):
    """``<name>`` and ``<string:name>`` in every route: a path segment without control or
    invisible format characters (a NUL in /api/v1/contests/%00/tracks is a 404, not a query)."""

    def __init__(self, map, minlength=1, maxlength=200, length=None):
        super().__init__(map, minlength=minlength, maxlength=maxlength, length=length)
        self.regex = (r"[^/\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e"
                      r"\u2060-\u2069\ufeff\ufff9-\ufffb\ud800-\udfff]" + self.regex.removeprefix("[^/]"))


def install_converters(app) -> None:
    """Make the bounded id and the clean text segment the app's ``int`` and default converters
    (before any blueprint registers a route)."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["default"] = TextConverter
    app.url_map.converters["string"] = TextConverter


def init_inputs(app) -> None:
    """The URL boundary of ``app``: bounded ids and clean segments in every route, and query
    strings refused (400) when they carry control or invisible format characters."""
    from flask import request

    from app.errors import abort_with

    install_converters(app)
    app.jinja_env.globals["form_error_summary"] = form_error_summary

    @app.before_request
    def refuse_hostile_query():
        for key, value in request.args.items(multi=True):
            if text_problem(key) or text_problem(value):
                abort_with(400, _("The address contains a control or invisible character; "
                                  "remove it and try again."))


# ---------------------------------------------------------------------------------------------
# The form boundary


def refuse_hostile_text(value: Any) -> Any:
    """A WTForms filter: a text field's value with control or invisible format characters is
    a field error next to the field (the value itself is cleaned by the service)."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise ValueError(problem)
    return value


class CheckedMeta:
    """WTForms meta for every form of the app: each text field (hidden ones too, never a
    password) gets ``refuse_hostile_text`` as its last filter."""

    def bind_field(self, form, unbound_field, options):
        from wtforms import PasswordField, StringField

        field_class = unbound_field.field_class
        if issubclass(field_class, StringField) and not issubclass(field_class, PasswordField):
            filters = [*unbound_field.kwargs.get("filters", ()), refuse_hostile_text]
            return unbound_field.bind(form=form, **{**options, "filters": filters})
        return unbound_field.bind(form=form, **options)


def number_formdata(field, valuelist, **kwargs) -> None:
    """``process_formdata`` of the number fields: ``parse_number``'s reading, its refusal as
    the field's error (blank is no value)."""
    field.data = None
    if not valuelist or not str(valuelist[0]).strip():
        return
    try:
        field.data = parse_number(valuelist[0], **kwargs)
    except ServiceError as error:
        raise ValueError(error.message) from None


def _leaf_fields(fields):
    """Every field of a form, those of its repeated parts (FieldList, FormField) included."""
    from wtforms import FieldList, FormField

    for field in fields:
        if isinstance(field, FieldList):
            yield from _leaf_fields(field.entries)
        elif isinstance(field, FormField):
            yield from _leaf_fields(field.form)
        else:
            yield field


class CheckedForm(FlaskForm):
    """The base of every form of the app (a test walks them): FlaskForm with ``CheckedMeta``.

    A submitted form that fails its checks refuses the request, as a service's refusal does:
    the page shown again answers 422 (``refuse_form``). An error on a hidden field (which has
    no place on the page to show it) is flashed."""

    class Meta(CheckedMeta):
        pass

    def validate(self, extra_validators=None) -> bool:
        from flask import flash

        valid = super().validate(extra_validators)
        for field in _leaf_fields(self):
            if getattr(field.widget, "input_type", None) == "hidden" and field.errors \
                    and field.name != "csrf_token":
                for message in dict.fromkeys(str(m) for m in field.errors):
                    flash(message, "danger")
        if not valid and self.is_submitted():
            refuse_form(self)
        return valid


def refuse_form(form) -> None:
    """The one answer to a form refused in a browser view, by its own checks or by a view that
    puts an error next to a field: the request is refused with 422 (its work rolled back; the
    page shown again answers 422 instead of 200), and the form is remembered for the summary of
    its errors at the top of the page (``form_error_summary``, shown by base.html)."""
    from app.transaction import refuse

    refuse(422)
    remember_refused_form(form)


def remember_refused_form(form) -> None:
    """Keep ``form`` for the summary of this request's form errors (``Refusal`` does it for a
    service's refusal placed on a form's fields)."""
    from flask import g

    forms = g.setdefault("refused_forms", [])
    if all(form is not other for other in forms):
        forms.append(form)


def form_error_summary() -> list[tuple[str, str, str]]:
    """Each error of the forms refused in this request as (field id, field label, message), in
    the order of the form, for the summary at the top of the page with links to the fields.
    Hidden fields (flashed instead) and the CSRF token are left out."""
    from flask import g

    summary: list[tuple[str, str, str]] = []
    for form in g.get("refused_forms", ()):
        for field in _leaf_fields(form):
            if not field.errors or field.name == "csrf_token" \
                    or getattr(field.widget, "input_type", None) == "hidden":
                continue
            messages = field.errors if isinstance(field.errors, list | tuple) else []
            for message in dict.fromkeys(str(m) for m in messages):
                summary.append((field.id, str(field.label.text), message))
    return summary
