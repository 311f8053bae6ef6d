"""Chat tables: chats, members with read marks, messages, ended logins.

Revision ID: 0001_chat
Revises:
Create Date: 2026-11-22 03:46:16
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001_chat'
down_revision = None
branch_labels = ('chat',)
depends_on = "0001_core"


def upgrade():
    op.create_table('chat_revoked_logins',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_chat_revoked_logins'))
    )
    with op.batch_alter_table('chat_revoked_logins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_revoked_logins_revoked_at'), ['revoked_at'], unique=False)

    op.create_table('chat_chats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_chat_chats_consultation_id_consultations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_chats')),
    sa.UniqueConstraint('consultation_id', name=op.f('uq_chat_chats_consultation_id'))
    )
    op.create_table('chat_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('last_read_seq', sa.Integer(), nullable=False),
    sa.CheckConstraint('(user_id IS NULL) <> (patient_id IS NULL)', name=op.f('ck_chat_members_exactly_one_person')),
    sa.ForeignKeyConstraint(['chat_id'], ['chat_chats.id'], name=op.f('fk_chat_members_chat_id_chat_chats'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_chat_members_patient_id_patients')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_chat_members_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_members')),
    sa.UniqueConstraint('chat_id', 'user_id', 'patient_id', name=op.f('uq_chat_members_chat_id'))
    )
    with op.batch_alter_table('chat_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_members_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_members_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_members_user_id'), ['user_id'], unique=False)

    op.create_table('chat_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('sender_member_id', sa.Integer(), nullable=True),
    sa.Column('sender_side', sa.String(length=10), nullable=False),
    sa.Column('sender_name', sa.String(length=300), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['chat_id'], ['chat_chats.id'], name=op.f('fk_chat_messages_chat_id_chat_chats'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_chat_messages_document_id_documents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sender_member_id'], ['chat_members.id'], name=op.f('fk_chat_messages_sender_member_id_chat_members'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_messages')),
    sa.UniqueConstraint('chat_id', 'client_id', name='uq_chat_messages_chat_client'),
    sa.UniqueConstraint('chat_id', 'seq', name='uq_chat_messages_chat_seq')
    )


def downgrade():
    op.drop_table('chat_messages')
    with op.batch_alter_table('chat_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_members_user_id'))
        batch_op.drop_index(batch_op.f('ix_chat_members_patient_id'))
        batch_op.drop_index(batch_op.f('ix_chat_members_chat_id'))

    op.drop_table('chat_members')
    op.drop_table('chat_chats')
    with op.batch_alter_table('chat_revoked_logins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_revoked_logins_revoked_at'))

    op.drop_table('chat_revoked_logins')
