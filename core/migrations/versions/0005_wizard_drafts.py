"""Server-side drafts of the «Подать заявку» wizard (the session cookie keeps only their id)

Revision ID: 0005_wizard_drafts
Revises: 0004_plugin_state_deployment
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_wizard_drafts"
down_revision = "0004_plugin_state_deployment"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "wizard_drafts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_wizard_drafts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wizard_drafts")),
    )
    with op.batch_alter_table("wizard_drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wizard_drafts_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_wizard_drafts_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("wizard_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wizard_drafts_user_id"))
        batch_op.drop_index(batch_op.f("ix_wizard_drafts_expires_at"))
    op.drop_table("wizard_drafts")
