"""`flask` commands; each one calls a service and commits once at the end."""
from __future__ import annotations

import sys

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

ROLE_CHOICE = click.Choice([r.value for r in Role])


def _fail(message: str) -> None:
    db.session.rollback()
    click.echo(f"错误 / error: {message}", err=True)
    sys.exit(1)


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
def load_demo():
    """Create the 2025 team-leader demo contest (safe to run again: adds nothing twice)."""
    from app.services.demo import DEMO_ACCOUNTS
    from app.services.demo import load_demo as load

    summary = load()
    db.session.commit()
    click.echo(summary.describe())
    click.echo("demo accounts (username / password / role):")
    for username, password, role, _name in DEMO_ACCOUNTS:
        click.echo(f"  {username:16} {password:16} {role.value}")


def register_cli(app: Flask) -> None:
    for group in (users_cli, tokens_cli, demo_cli):
        app.cli.add_command(group)
