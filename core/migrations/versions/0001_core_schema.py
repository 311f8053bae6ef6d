"""Core schema: organisations, staff, registry, routes, consultations, schedules,
documents, consent, audit, plugin states.

Revision ID: 0001_core
Revises: 
Create Date: 2026-11-22 03:32:35.348239

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001_core'
down_revision = None
branch_labels = ('core',)
depends_on = None


def upgrade():
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_type', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=300), nullable=False),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('object_type', sa.String(length=50), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=True),
    sa.Column('consultation_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('client_address', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_consultation_id'), ['consultation_id'], unique=False)
        batch_op.create_index('ix_audit_events_object', ['object_type', 'object_id'], unique=False)

    op.create_table('completion_reasons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_completion_reasons')),
    sa.UniqueConstraint('code', name=op.f('uq_completion_reasons_code'))
    )
    op.create_table('consent_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_versions')),
    sa.UniqueConstraint('version', name=op.f('uq_consent_versions_version'))
    )
    op.create_table('consultation_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('route', sa.String(length=100), nullable=False),
    sa.Column('for_representative', sa.Boolean(), nullable=False),
    sa.Column('attention_text', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_types')),
    sa.UniqueConstraint('code', name=op.f('uq_consultation_types_code'))
    )
    op.create_table('faq_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('question', sa.String(length=500), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_entries'))
    )
    op.create_table('medical_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('specialty', sa.String(length=100), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_medical_profiles')),
    sa.UniqueConstraint('code', name=op.f('uq_medical_profiles_code'))
    )
    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('short_name', sa.String(length=200), nullable=False),
    sa.Column('oid', sa.String(length=100), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('oid', name=op.f('uq_organisations_oid'))
    )
    op.create_table('portal_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('esia_oid', sa.String(length=100), nullable=False),
    sa.Column('trust_level', sa.String(length=20), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('middle_name', sa.String(length=100), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_accounts')),
    sa.UniqueConstraint('esia_oid', name=op.f('uq_portal_accounts_esia_oid'))
    )
    op.create_table('roles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roles')),
    sa.UniqueConstraint('code', name=op.f('uq_roles_code'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('scopes', sa.String(length=500), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_api_tokens_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('consent_acceptances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(), nullable=False),
    sa.Column('client_address', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['portal_accounts.id'], name=op.f('fk_consent_acceptances_account_id_portal_accounts')),
    sa.ForeignKeyConstraint(['version_id'], ['consent_versions.id'], name=op.f('fk_consent_acceptances_version_id_consent_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_acceptances')),
    sa.UniqueConstraint('account_id', 'version_id', name=op.f('uq_consent_acceptances_account_id'))
    )
    with op.batch_alter_table('consent_acceptances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_acceptances_account_id'), ['account_id'], unique=False)

    op.create_table('consultation_type_profiles',
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['medical_profiles.id'], name=op.f('fk_consultation_type_profiles_profile_id_medical_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['type_id'], ['consultation_types.id'], name=op.f('fk_consultation_type_profiles_type_id_consultation_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('type_id', 'profile_id', name=op.f('pk_consultation_type_profiles'))
    )
    op.create_table('patients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('middle_name', sa.String(length=100), nullable=True),
    sa.Column('last_name_norm', sa.String(length=100), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(length=10), nullable=False),
    sa.Column('snils', sa.String(length=11), nullable=True),
    sa.Column('oms_policy', sa.String(length=16), nullable=True),
    sa.Column('passport', sa.String(length=11), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('portal_account_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_patients_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['portal_account_id'], ['portal_accounts.id'], name=op.f('fk_patients_portal_account_id_portal_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patients')),
    sa.UniqueConstraint('oms_policy', name=op.f('uq_patients_oms_policy')),
    sa.UniqueConstraint('passport', name=op.f('uq_patients_passport')),
    sa.UniqueConstraint('portal_account_id', name=op.f('uq_patients_portal_account_id')),
    sa.UniqueConstraint('snils', name=op.f('uq_patients_snils'))
    )
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.create_index('ix_patients_last_name_norm', ['last_name_norm', 'first_name'], unique=False, postgresql_ops={'last_name_norm': 'text_pattern_ops'})
        batch_op.create_index(batch_op.f('ix_patients_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('middle_name', sa.String(length=100), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.String(length=200), nullable=True),
    sa.Column('specialty', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_users_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('login', name=op.f('uq_users_login'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('guardianships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('representative_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['patients.id'], name=op.f('fk_guardianships_child_id_patients')),
    sa.ForeignKeyConstraint(['representative_id'], ['patients.id'], name=op.f('fk_guardianships_representative_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guardianships')),
    sa.UniqueConstraint('representative_id', 'child_id', name=op.f('uq_guardianships_representative_id'))
    )
    with op.batch_alter_table('guardianships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guardianships_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_guardianships_representative_id'), ['representative_id'], unique=False)

    op.create_table('plugin_states',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plugin', sa.String(length=100), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_plugin_states_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_plugin_states_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plugin_states')),
    sa.UniqueConstraint('plugin', 'organisation_id', name=op.f('uq_plugin_states_plugin'))
    )
    op.create_table('schedule_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('doctor_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('weekdays', sa.JSON(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('end_time', sa.Time(), nullable=False),
    sa.Column('slot_minutes', sa.Integer(), nullable=False),
    sa.Column('breaks', sa.JSON(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['doctor_id'], ['users.id'], name=op.f('fk_schedule_templates_doctor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_templates'))
    )
    with op.batch_alter_table('schedule_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_templates_doctor_id'), ['doctor_id'], unique=False)

    op.create_table('user_roles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_user_roles_role_id_roles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_roles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role_id', name=op.f('pk_user_roles'))
    )
    op.create_table('slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('doctor_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('blocked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['doctor_id'], ['users.id'], name=op.f('fk_slots_doctor_id_users')),
    sa.ForeignKeyConstraint(['template_id'], ['schedule_templates.id'], name=op.f('fk_slots_template_id_schedule_templates'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slots')),
    sa.UniqueConstraint('doctor_id', 'starts_at', name=op.f('uq_slots_doctor_id'))
    )
    op.create_table('consultations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('representative_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('consultant_id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=True),
    sa.Column('scheduled_at', sa.DateTime(), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('route_data', sa.JSON(), nullable=False),
    sa.Column('conclusion_data', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('outcome_reason_id', sa.Integer(), nullable=True),
    sa.Column('outcome_note', sa.Text(), nullable=True),
    sa.Column('conclusion_document_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_consultations_author_id_users')),
    sa.ForeignKeyConstraint(['consultant_id'], ['users.id'], name=op.f('fk_consultations_consultant_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_consultations_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['outcome_reason_id'], ['completion_reasons.id'], name=op.f('fk_consultations_outcome_reason_id_completion_reasons')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_consultations_patient_id_patients')),
    sa.ForeignKeyConstraint(['profile_id'], ['medical_profiles.id'], name=op.f('fk_consultations_profile_id_medical_profiles')),
    sa.ForeignKeyConstraint(['representative_id'], ['patients.id'], name=op.f('fk_consultations_representative_id_patients')),
    sa.ForeignKeyConstraint(['slot_id'], ['slots.id'], name=op.f('fk_consultations_slot_id_slots')),
    sa.ForeignKeyConstraint(['type_id'], ['consultation_types.id'], name=op.f('fk_consultations_type_id_consultation_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultations')),
    sa.UniqueConstraint('slot_id', name=op.f('uq_consultations_slot_id'))
    )
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index('ix_consultations_author_status', ['author_id', 'status', 'scheduled_at'], unique=False)
        batch_op.create_index('ix_consultations_consultant_status', ['consultant_id', 'status', 'scheduled_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_representative_id'), ['representative_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_status'), ['status'], unique=False)

    op.create_table('consultation_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.Column('last_joined_at', sa.DateTime(), nullable=True),
    sa.Column('last_left_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('(user_id IS NULL) <> (patient_id IS NULL)', name=op.f('ck_consultation_participants_exactly_one_person')),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_consultation_participants_consultation_id_consultations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_consultation_participants_patient_id_patients')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_consultation_participants_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_participants')),
    sa.UniqueConstraint('consultation_id', 'user_id', 'patient_id', 'role', name=op.f('uq_consultation_participants_consultation_id'))
    )
    with op.batch_alter_table('consultation_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultation_participants_consultation_id'), ['consultation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultation_participants_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultation_participants_user_id'), ['user_id'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=True),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_account_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('folder', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_documents_consultation_id_consultations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_account_id'], ['portal_accounts.id'], name=op.f('fk_documents_owner_account_id_portal_accounts')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_documents_owner_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_documents_storage_key'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_consultation_id'), ['consultation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_owner_user_id'), ['owner_user_id'], unique=False)

    # consultations <-> documents reference each other: the second key comes afterwards.
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_foreign_key(op.f('fk_consultations_conclusion_document_id_documents'), 'documents', ['conclusion_document_id'], ['id'])

    op.create_table('record_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('middle_name', sa.String(length=100), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('oms_policy', sa.String(length=16), nullable=False),
    sa.Column('phone', sa.String(length=50), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('child_last_name', sa.String(length=100), nullable=True),
    sa.Column('child_first_name', sa.String(length=100), nullable=True),
    sa.Column('child_middle_name', sa.String(length=100), nullable=True),
    sa.Column('child_birth_date', sa.Date(), nullable=True),
    sa.Column('child_oms_policy', sa.String(length=16), nullable=True),
    sa.Column('profile_id', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=True),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('handled_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['portal_accounts.id'], name=op.f('fk_record_requests_account_id_portal_accounts')),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_record_requests_consultation_id_consultations')),
    sa.ForeignKeyConstraint(['handled_by_id'], ['users.id'], name=op.f('fk_record_requests_handled_by_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_record_requests_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['profile_id'], ['medical_profiles.id'], name=op.f('fk_record_requests_profile_id_medical_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_requests'))
    )
    with op.batch_alter_table('record_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_requests_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_requests_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_requests_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_consultations_conclusion_document_id_documents'), type_='foreignkey')

    with op.batch_alter_table('record_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_requests_status'))
        batch_op.drop_index(batch_op.f('ix_record_requests_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_record_requests_account_id'))

    op.drop_table('record_requests')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_owner_user_id'))
        batch_op.drop_index(batch_op.f('ix_documents_consultation_id'))

    op.drop_table('documents')
    with op.batch_alter_table('consultation_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultation_participants_user_id'))
        batch_op.drop_index(batch_op.f('ix_consultation_participants_patient_id'))
        batch_op.drop_index(batch_op.f('ix_consultation_participants_consultation_id'))

    op.drop_table('consultation_participants')
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultations_status'))
        batch_op.drop_index(batch_op.f('ix_consultations_representative_id'))
        batch_op.drop_index(batch_op.f('ix_consultations_patient_id'))
        batch_op.drop_index(batch_op.f('ix_consultations_organisation_id'))
        batch_op.drop_index('ix_consultations_consultant_status')
        batch_op.drop_index('ix_consultations_author_status')

    op.drop_table('consultations')
    op.drop_table('slots')
    op.drop_table('user_roles')
    with op.batch_alter_table('schedule_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_templates_doctor_id'))

    op.drop_table('schedule_templates')
    op.drop_table('plugin_states')
    with op.batch_alter_table('guardianships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guardianships_representative_id'))
        batch_op.drop_index(batch_op.f('ix_guardianships_child_id'))

    op.drop_table('guardianships')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_organisation_id'))

    op.drop_table('users')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patients_organisation_id'))
        batch_op.drop_index('ix_patients_last_name_norm', postgresql_ops={'last_name_norm': 'text_pattern_ops'})

    op.drop_table('patients')
    op.drop_table('consultation_type_profiles')
    with op.batch_alter_table('consent_acceptances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_acceptances_account_id'))

    op.drop_table('consent_acceptances')
    op.drop_table('api_tokens')
    op.drop_table('roles')
    op.drop_table('portal_accounts')
    op.drop_table('organisations')
    op.drop_table('medical_profiles')
    op.drop_table('faq_entries')
    op.drop_table('consultation_types')
    op.drop_table('consent_versions')
    op.drop_table('completion_reasons')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_object')
        batch_op.drop_index(batch_op.f('ix_audit_events_consultation_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
