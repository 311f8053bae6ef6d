"""Notifications plugin: the start a message speaks of, its expiry, the sweep's dispatch lease.

Revision ID: 0002_notifications
Revises: 0001_notifications
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_notifications'
down_revision = '0001_notifications'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dispatched_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('starts_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
    # Reminders still waiting speak of the consultation's current start (a moved
    # consultation's older ones were cancelled) and must not go out after it.
    op.execute(
        "UPDATE notifications_messages SET starts_at = (SELECT scheduled_at FROM consultations"
        " WHERE consultations.id = notifications_messages.consultation_id)"
        " WHERE status IN ('pending', 'sending', 'failed')"
    )
    op.execute(
        "UPDATE notifications_messages SET expires_at = starts_at"
        " WHERE event = 'reminder' AND status IN ('pending', 'sending', 'failed')"
    )


def downgrade():
    with op.batch_alter_table('notifications_messages', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('starts_at')
        batch_op.drop_column('dispatched_at')
