"""Flask extensions, created unbound and attached to an app in create_app()."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

# Named constraints from day one: Alembic cannot alter or drop a constraint without a name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class _SQLAlchemy(SQLAlchemy):
    #: Pages beyond this are empty anyway; a larger ?page= would overflow the database's
    #: OFFSET integer and end in a 500 instead of an empty page.
    MAX_PAGE = 1_000_000

    def paginate(self, select, *, page=None, **kwargs):
        from flask import has_request_context, request

        if page is None and has_request_context():
            page = request.args.get("page", 1, type=int)
            page = min(max(page or 1, 1), self.MAX_PAGE)
        return super().paginate(select, page=page, **kwargs)


db = _SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
limiter = Limiter(key_func=get_remote_address)
