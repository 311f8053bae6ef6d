"""Migrations go from empty to head, and the models match them (no autogenerate drift)."""


import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.testing import empty_postgres_database


@pytest.fixture
def empty_database_url(database_backend, tmp_path):
    if database_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    with empty_postgres_database("teleconsult_migrations") as url:
        yield url


def test_upgrade_from_empty_to_heads_matches_the_models(empty_database_url, tmp_path):
    from core.app import create_app
    from core.cli import upgrade_database
    from core.db import db
    from core.models import ConsultationType, MedicalProfile

    app = create_app({"DATABASE_URL": empty_database_url, "DATA_DIR": str(tmp_path)}, environment="testing")
    with app.app_context():
        upgrade_database()
        upgrade_database()  # idempotent: nothing to do the second time
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            drift = compare_metadata(context, db.metadata)
        assert drift == [], f"models and migrations differ: {drift}"
        assert db.session.scalar(sa.select(sa.func.count(MedicalProfile.id))) >= 15
        codes = set(db.session.scalars(sa.select(ConsultationType.code)))
        assert {"remote_patient", "remote_representative"} <= codes
        db.session.remove()
        db.engine.dispose()


def test_every_plugin_branch_depends_on_core(app):
    from alembic.script import ScriptDirectory

    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        script = ScriptDirectory.from_config(config)
        bases = [script.get_revision(rev) for rev in script.get_bases()]
        for base in bases:
            if base.revision == "0001_core":
                continue
            deps = base.dependencies
            deps = (deps,) if isinstance(deps, str) else tuple(deps or ())
            assert "0001_core" in deps, f"{base.revision} must depend on the core branch"
