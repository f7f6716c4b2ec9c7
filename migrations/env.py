"""Alembic environment for Flask-Migrate: the app's engine and metadata, batch mode on SQLite."""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def render_item(type_, obj, autogen_context):
    """Write app column types as the plain SQL types they store, so migrations never import
    application code (ScaledDecimal is a BIGINT count of 10**-scale units)."""
    from app.models.base import ScaledDecimal

    if type_ == "type" and isinstance(obj, ScaledDecimal):
        return "sa.BigInteger()"
    return False


def _options(connection=None):
    return dict(
        target_metadata=target_db.metadata,
        compare_type=True,
        render_item=render_item,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=(connection is not None and connection.dialect.name == "sqlite"),
    )


def run_migrations_offline():
    url = str(target_db.engine.url)
    context.configure(url=url, literal_binds=True, **_options())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    with target_db.engine.connect() as connection:
        context.configure(connection=connection, **{**conf_args, **_options(connection)})
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
