"""Alembic environment: the app's engine and the tables of the core and the loaded plugins."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import context
from flask import current_app

from core.db import UTCDateTime
from core.migrating import include_object

log = logging.getLogger("alembic.env")
config = context.config


def render_item(type_, obj, autogen_context):
    # Migrations store plain DateTime: UTC handling is the model's business.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def metadata() -> sa.MetaData:
    return current_app.extensions["migrate"].db.metadata


def skip_empty(context_, revision, directives):
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        log.info("no changes in schema detected")


def run_migrations_online() -> None:
    engine = current_app.extensions["migrate"].db.engine
    options = dict(current_app.extensions["migrate"].configure_args)
    options.setdefault("process_revision_directives", skip_empty)
    options["render_item"] = render_item
    options.setdefault("include_object", include_object(current_app))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata(), **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(
        url=str(current_app.extensions["migrate"].db.engine.url).replace("%", "%%"),
        target_metadata=metadata(),
        literal_binds=True,
        render_item=render_item,
        include_object=include_object(current_app),
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
