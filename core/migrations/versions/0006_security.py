"""Server-side login sessions: the session cookie carries only their id (SPEC D1)

Revision ID: 0006_security
Revises: 0007_guardian
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_security"
down_revision = "0007_guardian"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_kind", sa.String(length=10), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
    )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_login_sessions_account", ["account_kind", "account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_sessions_ended_at"), ["ended_at"], unique=False)


def downgrade():
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_ended_at"))
        batch_op.drop_index("ix_login_sessions_account")
    op.drop_table("login_sessions")
