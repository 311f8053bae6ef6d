"""Guardianships can end; journal requests keep why they were turned down

Revision ID: 0003_guardianship_end_rejection
Revises: 0002_registry_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_guardianship_end_rejection"
down_revision = "0002_registry_indexes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("guardianships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ended_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("record_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rejection_reason", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("record_requests", schema=None) as batch_op:
        batch_op.drop_column("rejection_reason")
    with op.batch_alter_table("guardianships", schema=None) as batch_op:
        batch_op.drop_column("ended_at")
