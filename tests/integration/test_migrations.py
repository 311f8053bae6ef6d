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


def _app(url, tmp_path, **kwargs):
    from core.app import create_app

    return create_app({"DATABASE_URL": url, "DATA_DIR": str(tmp_path), **kwargs.pop("config", {})},
                      environment="testing", **kwargs)


def _drift(app):
    from core.db import db
    from core.migrating import include_object

    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "render_as_batch": True, "include_object": include_object(app)},
        )
        return compare_metadata(context, db.metadata)


def _versions() -> set[str]:
    from core.db import db

    with db.engine.connect() as connection:
        return set(connection.scalars(sa.text("SELECT version_num FROM alembic_version")))


def _tables() -> set[str]:
    from core.db import db

    return set(sa.inspect(db.engine).get_table_names())


@pytest.mark.parametrize("plugins", [None, []], ids=["all-plugins", "bare-core"])
def test_upgrade_from_empty_to_heads_matches_the_models(empty_database_url, tmp_path, plugins):
    from core.cli import upgrade_database
    from core.db import db
    from core.models import ConsultationType, MedicalProfile

    app = _app(empty_database_url, tmp_path, plugins=plugins)
    with app.app_context():
        upgrade_database()
        upgrade_database()  # idempotent: nothing to do the second time
        drift = _drift(app)
        assert drift == [], f"models and migrations differ: {drift}"
        assert db.session.scalar(sa.select(sa.func.count(MedicalProfile.id))) >= 15
        codes = set(db.session.scalars(sa.select(ConsultationType.code)))
        assert "remote_patient" in codes
        # The representative's twin exists only with the plugin that knows representatives.
        assert ("remote_representative" in codes) is (plugins is None)
        tables = _tables()
        assert {"consultations", "plugin_states"} <= tables
        assert ("chat_messages" in tables) is (plugins is None)  # only loaded branches
        db.session.remove()
        db.engine.dispose()


def test_a_disabled_plugin_keeps_its_migrated_tables_and_can_come_back(empty_database_url, tmp_path):
    """Upgrade with everything, start and upgrade with chat disabled, enable it again."""
    from core.cli import upgrade_database
    from core.db import db
    from core.migrating import loaded_heads

    everything = _app(empty_database_url, tmp_path / "all")
    with everything.app_context():
        upgrade_database()
        all_heads = set(loaded_heads(everything))
        assert "0001_chat" in all_heads and _versions() == all_heads
        db.engine.dispose()

    without_chat = _app(empty_database_url, tmp_path / "nochat", config={"PLUGINS_DISABLED": ["chat"]})
    with without_chat.app_context():
        assert "0001_chat" not in loaded_heads(without_chat)
        upgrade_database()  # used to fail: "Can't locate revision identified by '0001_chat'"
        assert _versions() == all_heads  # the chat branch is left where it was
        assert "chat_messages" in _tables()
        assert _drift(without_chat) == []  # the chat's tables are not proposed for removal
        db.engine.dispose()

    again = _app(empty_database_url, tmp_path / "again")
    with again.app_context():
        upgrade_database()
        assert _versions() == all_heads
        assert _drift(again) == []
        db.engine.dispose()


def test_a_plugin_disabled_from_the_start_gets_its_tables_when_enabled(empty_database_url, tmp_path):
    from core.cli import upgrade_database
    from core.db import db

    without_chat = _app(empty_database_url, tmp_path / "nochat", config={"PLUGINS_DISABLED": ["chat"]})
    with without_chat.app_context():
        upgrade_database()
        assert "chat_messages" not in _tables() and "0001_chat" not in _versions()
        db.engine.dispose()
    everything = _app(empty_database_url, tmp_path / "all")
    with everything.app_context():
        upgrade_database()
        assert "chat_messages" in _tables() and "0001_chat" in _versions()
        assert _drift(everything) == []
        db.engine.dispose()


def test_every_plugin_branch_depends_on_core(app):
    """Each plugin's folder holds one branch, labelled with the plugin's name, whose base
    depends on the core's first revision."""
    from pathlib import Path

    from alembic.script import ScriptDirectory

    from core.plugins import collect

    with app.app_context():
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        folders = collect(app.extensions["teleconsult.pm"], "teleconsult_register_migrations")
        assert {"chat", "notifications"} <= {plugin for plugin, _folder in folders}
        bases = [script.get_revision(rev) for rev in script.get_bases()]
        assert "0001_core" in {base.revision for base in bases}
        for plugin, folder in folders:
            own = [base for base in bases if Path(base.path).parent.resolve() == Path(folder).resolve()]
            assert len(own) == 1, f"{plugin}: one branch per plugin, found {len(own)} bases"
            (base,) = own
            assert plugin in base.branch_labels, f"{base.revision} must be labelled {plugin!r}"
            deps = base.dependencies
            deps = (deps,) if isinstance(deps, str) else tuple(deps or ())
            assert "0001_core" in deps, f"{base.revision} must depend on the core branch"


def test_duplicate_deployment_switches_are_merged_by_the_unique_index_revision(empty_database_url, tmp_path):
    from flask_migrate import upgrade

    from core.cli import upgrade_database
    from core.db import db

    app = _app(empty_database_url, tmp_path, plugins=[])
    with app.app_context():
        upgrade(revision="0002_registry_indexes")
        with db.engine.begin() as connection:
            for enabled in (True, False, True, False):
                connection.execute(
                    sa.text("INSERT INTO plugin_states (plugin, organisation_id, enabled, updated_at) "
                            "VALUES ('chat', NULL, :enabled, CURRENT_TIMESTAMP)"),
                    {"enabled": enabled},
                )
        upgrade_database()
        with db.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT plugin, enabled FROM plugin_states")).all()
        assert [(plugin, bool(enabled)) for plugin, enabled in rows] == [("chat", False)]  # the latest
        db.engine.dispose()


def test_portal_accounts_keep_their_esia_link_as_an_external_identity(empty_database_url, tmp_path):
    """0008: ``esia_oid`` becomes ``external_id`` of the identity provider "esia", and back."""
    from flask_migrate import downgrade, upgrade

    from core.cli import upgrade_database
    from core.db import db

    app = _app(empty_database_url, tmp_path, plugins=[])
    with app.app_context():
        upgrade(revision="0006_security")
        with db.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO portal_accounts (esia_oid, trust_level, last_name, first_name, created_at) "
                "VALUES ('1000001', 'confirmed', 'Петров', 'Сергей', CURRENT_TIMESTAMP)"
            ))
        upgrade_database()
        assert not _drift(app)
        with db.engine.begin() as connection:
            rows = connection.execute(sa.text("SELECT identity_provider, external_id FROM portal_accounts")).all()
            assert [tuple(row) for row in rows] == [("esia", "1000001")]
            # The pair is unique, not the id alone: another provider may use the same one.
            connection.execute(sa.text(
                "INSERT INTO portal_accounts (identity_provider, external_id, trust_level, last_name, first_name, "
                "created_at) VALUES ('other', '1000001', 'standard', 'Иванов', 'Иван', CURRENT_TIMESTAMP)"
            ))
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO portal_accounts (identity_provider, external_id, trust_level, last_name, first_name, "
                "created_at) VALUES ('esia', '1000001', 'standard', 'Иванов', 'Иван', CURRENT_TIMESTAMP)"
            ))
        downgrade(revision="0006_security")
        with db.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT esia_oid, last_name FROM portal_accounts")).all()
        assert [tuple(row) for row in rows] == [("1000001", "Петров")]
        db.engine.dispose()
