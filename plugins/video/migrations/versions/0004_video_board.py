"""The call's whiteboard «Доска»: an append-only log of operations with server numbers.

Revision ID: 0004_video_board
Revises: 0003_video_checks
Create Date: 2026-12-03 13:40:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_video_board'
down_revision = '0003_video_checks'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('video_calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('board_seq', sa.Integer(), server_default='0', nullable=False))

    op.create_table('video_board_ops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target_seq', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['video_calls.id'], name=op.f('fk_video_board_ops_call_id_video_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['video_participants.id'], name=op.f('fk_video_board_ops_participant_id_video_participants'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_board_ops')),
    sa.UniqueConstraint('call_id', 'client_id', name='uq_video_board_ops_call_client'),
    sa.UniqueConstraint('call_id', 'seq', name='uq_video_board_ops_call_seq')
    )
    with op.batch_alter_table('video_board_ops', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_board_ops_call_id'), ['call_id'], unique=False)


def downgrade():
    with op.batch_alter_table('video_board_ops', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_board_ops_call_id'))

    op.drop_table('video_board_ops')
    with op.batch_alter_table('video_calls', schema=None) as batch_op:
        batch_op.drop_column('board_seq')
