"""`flask` commands; each one calls a service and commits once at the end (outside requests, a
command owns its transaction: app/transaction.py covers only web requests)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from app.extensions import db
from app.models import Role, User
from app.services import ServiceError, accounts

users_cli = AppGroup("users", help="Manage accounts.")
tokens_cli = AppGroup("tokens", help="Manage API bearer tokens.")
demo_cli = AppGroup("demo", help="The demo contest.")
registrations_cli = AppGroup("registrations", help="Registration sheets.")
results_cli = AppGroup("results", help="Theory and digital-twin results files.")

ROLE_CHOICE = click.Choice([r.value for r in Role])


def _fail(message: str, code: int = 1) -> None:
    db.session.rollback()
    click.echo(f"错误 / error: {message}", err=True)
    sys.exit(code)


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=ROLE_CHOICE, required=True)
@click.option("--name", "display_name", default="", help="Display name (defaults to username).")
@click.option("--phone", default=None)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              envvar="CONTEST_NEW_PASSWORD", help="Prompted for when not given.")
def create_user(username: str, role: str, display_name: str, phone: str | None, password: str):
    """Create an account."""
    try:
        user = accounts.create_user(username, display_name or username, Role(role), password,
                                    phone=phone)
    except ServiceError as error:
        _fail(error.message)
    db.session.commit()
    click.echo(f"created {user.username} ({user.role.value})")


@users_cli.command("list")
def list_users():
    """List accounts."""
    for user in db.session.scalars(sa.select(User).order_by(User.role, User.username)):
        state = "" if user.active else "  (inactive)"
        click.echo(f"{user.username:24} {user.role.value:20} {user.display_name}{state}")


@users_cli.command("set-password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              envvar="CONTEST_NEW_PASSWORD")
def set_password(username: str, password: str):
    """Set an account's password."""
    user = accounts.get_by_username(username)
    if user is None:
        _fail(f"no account {username}")
    try:
        accounts.set_password(user, password)
    except ServiceError as error:
        _fail(error.message)
    db.session.commit()
    click.echo(f"password set for {username}")


@tokens_cli.command("create")
@click.argument("username")
@click.option("--name", default="cli", help="A label for the token.")
@click.option("--scope", default=None, help="Limit the token, e.g. component:12:push.")
def create_token(username: str, name: str, scope: str | None):
    """Create a bearer token for USERNAME and print its secret once."""
    user = accounts.get_by_username(username)
    if user is None:
        _fail(f"no account {username}")
    try:
        _token, secret = accounts.issue_token(user, name, scope=scope)
    except ServiceError as error:
        _fail(error.message)
    db.session.commit()
    click.echo(secret)


@demo_cli.command("load")
@click.option("--configuration-only", is_flag=True,
              help="Stop at configuration and registrations (no scores, lists or judging).")
def load_demo(configuration_only: bool):
    """Create the 2025 team-leader demo contest (safe to run again: adds nothing twice)."""
    from app.services.demo import DEMO_ACCOUNTS
    from app.services.demo import load_demo as load

    summary = load(living=not configuration_only)
    db.session.commit()
    click.echo(summary.describe())
    click.echo("demo accounts (username / password / role):")
    for username, password, role, _name in DEMO_ACCOUNTS:
        click.echo(f"  {username:16} {password:16} {role.value}")


class _PhaseBars:
    """The import's progress callback as one click progress bar per phase, on stderr."""

    LABELS = {"read": "读取 / reading", "check": "检查 / checking", "write": "写入 / writing"}

    def __init__(self) -> None:
        self.phase: str | None = None
        self.bar = None
        self.done = 0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase, self.done = phase, 0
            self.bar = click.progressbar(length=max(total, 1), label=self.LABELS.get(phase, phase),
                                         file=sys.stderr)
            self.bar.__enter__()
        if done > self.done:
            self.bar.update(done - self.done)
            self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@registrations_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--track", "track_code", required=True, help="The track's code, e.g. chem.")
@click.option("--contest", "contest_code", default=None,
              help="The contest's code (default: the most recent one with that track).")
@click.option("--dry-run", is_flag=True, help="Check and report only; write nothing.")
@click.option("--json", "as_json", is_flag=True,
              help='Print one JSON object: {"rows", "valid", "imported", "errors"}.')
@click.option("--error-report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the bad rows with a 错误原因 column to this .xlsx file.")
@click.option("--user", "username", default=None, help="Record the import as this account's.")
def import_registrations(file: Path, track_code: str, contest_code: str | None, dry_run: bool,
                         as_json: bool, error_report: Path | None, username: str | None):
    """Import a registration sheet (.xlsx, .xls or .csv) into a track.

    Exits 0 when every row is good, 1 when any row is bad (the good ones are imported unless
    --dry-run), 2 when the file cannot be imported at all (nothing is saved).
    """
    import json

    from app.services import imports
    from app.services.registration_import import RegistrationImporter, track_by_codes

    actor = None
    if username:
        actor = accounts.get_by_username(username)
        if actor is None:
            _fail(f"no account {username}", code=2)
    bars = _PhaseBars()
    try:
        track = track_by_codes(track_code, contest_code)
        outcome = imports.run(RegistrationImporter(track, actor),
                              imports.Upload(file.name, file.read_bytes()), dry_run=dry_run,
                              actor=actor, progress=bars)
    except ServiceError as error:
        bars.close()
        _fail(error.message, code=2)
    bars.close()
    db.session.commit()
    report = outcome.report
    for notice in report.notices:
        click.echo(notice, err=True)
    if error_report is not None and report.errors:
        error_report.write_bytes(imports.error_report(outcome.batch.report or {}))
        click.echo(f"错误报告 / error report: {error_report}", err=True)
    if as_json:
        click.echo(json.dumps(report.summary(), ensure_ascii=False))
    else:
        click.echo(f"{track.contest.name} · {track.name} ← {file.name}"
                   + ("（试导入 / dry run）" if dry_run else ""))
        click.echo(f"行数 rows: {report.rows}  合格 valid: {report.valid}  "
                   f"导入 imported: {report.imported}")
        for error in report.errors:
            click.echo(f"第 {error.row} 行 · {error.column}：{error.reason}")
    sys.exit(1 if report.errors else 0)


@results_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--contest", "contest_code", default=None,
              help="The contest's code (default: the most recent one with that track).")
@click.option("--track", "track_code", required=True, help="The track's code, e.g. chem.")
@click.option("--stage", "stage_seq", type=int, required=True, help="The stage's number, e.g. 2.")
@click.option("--component", "component_code", required=True,
              help="The component's code, e.g. theory or twin.")
@click.option("--dry-run", is_flag=True, help="Check and report only; write nothing.")
@click.option("--confirm", is_flag=True,
              help="Replace scores contestants already have (after checking the differences).")
@click.option("--json", "as_json", is_flag=True,
              help='Print one JSON object: {"rows", "valid", "imported", "errors", "changes", …}.')
@click.option("--error-report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the bad rows with a 错误原因 column to this .xlsx file.")
@click.option("--user", "username", default=None, help="Record the import as this account's.")
def import_results(file: Path, contest_code: str | None, track_code: str, stage_seq: int,
                   component_code: str, dry_run: bool, confirm: bool, as_json: bool,
                   error_report: Path | None, username: str | None):
    """Import a theory or simulator results file (.xlsx, .xls, .csv or .json) into a component.

    Nothing is imported unless every row is right. Exits 0 when the file is good (and imported
    unless --dry-run), 1 when any row is bad, 2 when the file cannot be imported at all, 3 when
    it would change scores contestants already have and --confirm was not given.
    """
    import json

    from app.services import imports
    from app.services.result_import import (
        component_by_codes,
        import_results,
        needs_confirmation,
        result_importer,
    )

    actor = None
    if username:
        actor = accounts.get_by_username(username)
        if actor is None:
            _fail(f"no account {username}", code=2)
    bars = _PhaseBars()
    try:
        component = component_by_codes(contest_code, track_code, stage_seq, component_code)
        outcome = import_results(result_importer(component, actor, confirm_changes=confirm),
                                 imports.Upload(file.name, file.read_bytes()), dry_run=dry_run,
                                 actor=actor, progress=bars)
    except ServiceError as error:
        bars.close()
        _fail(error.message, code=2)
    bars.close()
    db.session.commit()
    report = outcome.report
    unconfirmed = needs_confirmation(outcome)
    changes = report.extra.get("changes", [])
    for notice in report.notices:
        click.echo(notice, err=True)
    if error_report is not None and report.errors:
        error_report.write_bytes(imports.error_report(outcome.batch.report or {}))
        click.echo(f"错误报告 / error report: {error_report}", err=True)
    if as_json:
        click.echo(json.dumps({**report.summary(), "dry_run": outcome.dry_run,
                               "already_imported": outcome.already_imported,
                               "confirmation_required": unconfirmed,
                               "batch_id": outcome.batch.id, "changes": changes},
                              ensure_ascii=False))
    else:
        stage = component.stage
        click.echo(f"{stage.track.name} · {stage.name} · {component.name} ← {file.name}"
                   + ("（试导入 / dry run）" if dry_run else ""))
        click.echo(f"行数 rows: {report.rows}  合格 valid: {report.valid}  "
                   f"导入 imported: {report.imported}")
        for error in report.errors:
            click.echo(f"第 {error.row} 行 · {error.column}：{error.reason}")
        for change in changes:
            who = change["exam_number"] or change["workstation"]
            click.echo(f"更改 change {who}: {change['old_points']} → {change['new_points']}"
                       f"  用时 time {change['old_time_used_seconds']} → "
                       f"{change['new_time_used_seconds']}")
        if unconfirmed:
            click.echo("成绩有更改，未导入；核对后加 --confirm 重新执行 / "
                       "scores would change: nothing imported; check them and add --confirm",
                       err=True)
    sys.exit(1 if report.errors else 3 if unconfirmed else 0)


def register_cli(app: Flask) -> None:
    for group in (users_cli, tokens_cli, demo_cli, registrations_cli, results_cli):
        app.cli.add_command(group)
