"""Pre-call checks «Проверка связи» (one row per check of a person in a consultation) and
a participant's camera-off switch, which the others' tiles show.

Revision ID: 0003_video_checks
Revises: 0002_video_media
Create Date: 2026-12-03 13:40:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_video_checks'
down_revision = '0002_video_media'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('video_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('cause', sa.String(length=16), nullable=False),
    sa.Column('adapters_warning', sa.Boolean(), nullable=False),
    sa.Column('camera', sa.String(length=16), nullable=False),
    sa.Column('microphone', sa.String(length=16), nullable=False),
    sa.Column('network', sa.String(length=16), nullable=False),
    sa.Column('rtt_ms', sa.Integer(), nullable=True),
    sa.Column('browser', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('(user_id IS NULL) <> (patient_id IS NULL)', name=op.f('ck_video_checks_exactly_one_person')),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_video_checks_consultation_id_consultations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_video_checks_patient_id_patients')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_video_checks_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_checks'))
    )
    with op.batch_alter_table('video_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_checks_consultation_id'), ['consultation_id'], unique=False)

    with op.batch_alter_table('video_participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('camera_off', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('video_participants', schema=None) as batch_op:
        batch_op.drop_column('camera_off')

    with op.batch_alter_table('video_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_checks_consultation_id'))

    op.drop_table('video_checks')
