"""The pre-call check's throughput and loss through the deployment's TURN.

Revision ID: 0005_video_check_throughput
Revises: 0004_video_board
Create Date: 2026-12-03 18:20:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_video_check_throughput'
down_revision = '0004_video_board'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('video_checks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('throughput_kbps', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('loss_pct', sa.Double(), nullable=True))


def downgrade():
    with op.batch_alter_table('video_checks', schema=None) as batch_op:
        batch_op.drop_column('loss_pct')
        batch_op.drop_column('throughput_kbps')
