"""Notifications plugin: one row per notification (idempotency key, state, lease).

Revision ID: 0001_notifications
Revises:
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001_notifications'
down_revision = None
branch_labels = ('notifications',)
depends_on = "0001_core"


def upgrade():
    op.create_table('notifications_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('claim_token', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_notifications_messages_consultation_id_consultations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications_messages')),
    sa.UniqueConstraint('key', name=op.f('uq_notifications_messages_key'))
    )
    with op.batch_alter_table('notifications_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_messages_consultation_id'), ['consultation_id'], unique=False)
        batch_op.create_index('ix_notifications_messages_due', ['status', 'next_attempt_at'], unique=False)



def downgrade():
    with op.batch_alter_table('notifications_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_messages_due')
        batch_op.drop_index(batch_op.f('ix_notifications_messages_consultation_id'))

    op.drop_table('notifications_messages')
