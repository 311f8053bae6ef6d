"""Video tables: calls (with the host), participants, in-call messages, quality samples.

Revision ID: 0001_video
Revises:
Create Date: 2026-12-02 13:20:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001_video'
down_revision = None
branch_labels = ('video',)
depends_on = "0001_core"


def upgrade():
    op.create_table('video_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('caller_user_id', sa.Integer(), nullable=True),
    sa.Column('host_participant_id', sa.Integer(), nullable=True),
    sa.Column('owner_participant_id', sa.Integer(), nullable=True),
    sa.Column('rang', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('ring_until', sa.DateTime(), nullable=True),
    sa.Column('accepted_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('live_key', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['caller_user_id'], ['users.id'], name=op.f('fk_video_calls_caller_user_id_users')),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_video_calls_consultation_id_consultations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_calls')),
    sa.UniqueConstraint('live_key', name=op.f('uq_video_calls_live_key'))
    )
    with op.batch_alter_table('video_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_calls_consultation_id'), ['consultation_id'], unique=False)

    op.create_table('video_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('muted', sa.Boolean(), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('joined_at', sa.DateTime(), nullable=True),
    sa.Column('left_at', sa.DateTime(), nullable=True),
    sa.Column('sid', sa.String(length=64), nullable=True),
    sa.CheckConstraint('(user_id IS NULL) <> (patient_id IS NULL)', name=op.f('ck_video_participants_exactly_one_person')),
    sa.ForeignKeyConstraint(['call_id'], ['video_calls.id'], name=op.f('fk_video_participants_call_id_video_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_video_participants_patient_id_patients')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_video_participants_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_participants')),
    sa.UniqueConstraint('call_id', 'user_id', 'patient_id', name=op.f('uq_video_participants_call_id'))
    )
    with op.batch_alter_table('video_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_participants_call_id'), ['call_id'], unique=False)

    # The call's host and owner point at participants, whose table points back at calls.
    with op.batch_alter_table('video_calls', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_video_calls_host_participant_id_video_participants'), 'video_participants', ['host_participant_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_video_calls_owner_participant_id_video_participants'), 'video_participants', ['owner_participant_id'], ['id'], ondelete='SET NULL')

    op.create_table('video_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['video_calls.id'], name=op.f('fk_video_messages_call_id_video_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_video_messages_consultation_id_consultations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['video_participants.id'], name=op.f('fk_video_messages_participant_id_video_participants'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_messages')),
    sa.UniqueConstraint('call_id', 'client_id', name=op.f('uq_video_messages_call_id'))
    )
    with op.batch_alter_table('video_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_messages_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_video_messages_consultation_id'), ['consultation_id'], unique=False)

    op.create_table('video_quality_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('rtt_ms', sa.Double(), nullable=True),
    sa.Column('jitter_ms', sa.Double(), nullable=True),
    sa.Column('loss', sa.Double(), nullable=True),
    sa.Column('fps', sa.Double(), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('setup_ms', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['video_calls.id'], name=op.f('fk_video_quality_samples_call_id_video_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['video_participants.id'], name=op.f('fk_video_quality_samples_participant_id_video_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_quality_samples'))
    )
    with op.batch_alter_table('video_quality_samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_quality_samples_call_id'), ['call_id'], unique=False)



def downgrade():
    with op.batch_alter_table('video_quality_samples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_quality_samples_call_id'))

    op.drop_table('video_quality_samples')
    with op.batch_alter_table('video_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_messages_consultation_id'))
        batch_op.drop_index(batch_op.f('ix_video_messages_call_id'))

    op.drop_table('video_messages')
    with op.batch_alter_table('video_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_participants_call_id'))

    with op.batch_alter_table('video_calls', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_video_calls_owner_participant_id_video_participants'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_video_calls_host_participant_id_video_participants'), type_='foreignkey')
    op.drop_table('video_participants')
    with op.batch_alter_table('video_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_calls_consultation_id'))

    op.drop_table('video_calls')
