"""Registry and worklist indexes: byte-ordered surname search, open-consultation lists

Revision ID: 0002_registry_indexes
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_registry_indexes"
down_revision = "0001_core"
branch_labels = None
depends_on = None

OPEN = "status != 'closed'"


def upgrade():
    op.drop_index("ix_patients_last_name_norm", table_name="patients")
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE patients ALTER COLUMN last_name_norm TYPE VARCHAR(100) COLLATE "C"')
    op.create_index("ix_patients_surname_order", "patients", ["last_name_norm", "first_name", "id"])
    for column in ("consultant", "author"):
        op.create_index(
            f"ix_consultations_open_by_{column}",
            "consultations",
            [f"{column}_id", "scheduled_at", "id"],
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )


def downgrade():
    for column in ("consultant", "author"):
        op.drop_index(f"ix_consultations_open_by_{column}", table_name="consultations")
    op.drop_index("ix_patients_surname_order", table_name="patients")
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE patients ALTER COLUMN last_name_norm TYPE VARCHAR(100) COLLATE "default"')
    op.create_index(
        "ix_patients_last_name_norm",
        "patients",
        ["last_name_norm", "first_name"],
        postgresql_ops={"last_name_norm": "text_pattern_ops"},
    )
