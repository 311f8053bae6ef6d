"""Guardianships carry the basis the access policy checks (ESIA or an operator's document)

Existing links get no basis: they grant nothing until ESIA lists the child at the
representative's next login or an operator attaches a document (issue 12: links pushed by
a registry import were trusted as they came).

Revision ID: 0007_guardian
Revises: 0005_wizard_drafts
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_guardian"
down_revision = "0005_wizard_drafts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("guardianships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("basis", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("document_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("verified_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_guardianships_document_id_documents"), "documents", ["document_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_guardianships_verified_by_id_users"), "users", ["verified_by_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("guardianships", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_guardianships_verified_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_guardianships_document_id_documents"), type_="foreignkey")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("verified_by_id")
        batch_op.drop_column("document_id")
        batch_op.drop_column("source")
        batch_op.drop_column("basis")
