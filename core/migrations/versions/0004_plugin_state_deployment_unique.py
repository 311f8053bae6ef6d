"""One deployment-wide switch per plugin: a partial unique index on plugin_states

Revision ID: 0004_plugin_state_deployment
Revises: 0003_guardianship_end_rejection
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_plugin_state_deployment"
down_revision = "0003_guardianship_end_rejection"
branch_labels = None
depends_on = None

DEPLOYMENT = "organisation_id IS NULL"


def upgrade():
    # Duplicates the old constraint let through: the latest switch is the one in force.
    op.execute(
        "DELETE FROM plugin_states WHERE organisation_id IS NULL AND id NOT IN ("
        "SELECT MAX(id) FROM plugin_states WHERE organisation_id IS NULL GROUP BY plugin)"
    )
    op.create_index(
        "uq_plugin_states_deployment",
        "plugin_states",
        ["plugin"],
        unique=True,
        postgresql_where=sa.text(DEPLOYMENT),
        sqlite_where=sa.text(DEPLOYMENT),
    )


def downgrade():
    op.drop_index("uq_plugin_states_deployment", table_name="plugin_states")
