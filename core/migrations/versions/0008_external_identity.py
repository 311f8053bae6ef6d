"""Portal accounts name their identity provider and the person's id there, not ESIA's oid

The core knows no identity provider: an account is linked by the provider's plugin
(``identity_provider``, "esia" for every account made so far) and the person's id at that
provider (``external_id``, formerly ``esia_oid``); the pair is unique.

Revision ID: 0008_external_identity
Revises: 0006_security
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_external_identity"
down_revision = "0006_security"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("portal_accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("identity_provider", sa.String(length=40), nullable=False, server_default="esia")
        )
        batch_op.alter_column("esia_oid", new_column_name="external_id", existing_type=sa.String(length=100),
                              existing_nullable=False)
    with op.batch_alter_table("portal_accounts", schema=None) as batch_op:
        batch_op.alter_column("identity_provider", server_default=None, existing_type=sa.String(length=40),
                              existing_nullable=False)
        batch_op.drop_constraint("uq_portal_accounts_esia_oid", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_portal_accounts_identity_provider"), ["identity_provider", "external_id"]
        )


def downgrade():
    # Accounts of another provider than ESIA have no place in the old table.
    op.execute(sa.text("DELETE FROM portal_accounts WHERE identity_provider <> 'esia'"))
    with op.batch_alter_table("portal_accounts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_portal_accounts_identity_provider"), type_="unique")
        batch_op.alter_column("external_id", new_column_name="esia_oid", existing_type=sa.String(length=100),
                              existing_nullable=False)
        batch_op.create_unique_constraint("uq_portal_accounts_esia_oid", ["esia_oid"])
        batch_op.drop_column("identity_provider")
