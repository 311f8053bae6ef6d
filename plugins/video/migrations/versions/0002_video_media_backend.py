"""Video calls name their media backend (p2p mesh or the Janus SFU).

Revision ID: 0002_video_media
Revises: 0001_video
Create Date: 2026-12-03 13:50:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_video_media'
down_revision = '0001_video'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('video_calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media', sa.String(length=16), server_default='p2p', nullable=False))


def downgrade():
    with op.batch_alter_table('video_calls', schema=None) as batch_op:
        batch_op.drop_column('media')
