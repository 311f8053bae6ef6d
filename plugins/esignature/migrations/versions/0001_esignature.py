"""E-signature plugin: trust lists, CRL cache, doctors' SNILS, development keys,
conclusion versions and signatures.

Revision ID: 0001_esignature
Revises:
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = "0001_esignature"
down_revision = None
branch_labels = ("esignature",)
depends_on = "0001_core"


def upgrade():
    op.create_table(
        "esignature_trust_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("source_name", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("centre_count", sa.Integer(), nullable=False),
        sa.Column("certificate_count", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["imported_by_id"], ["users.id"], name=op.f("fk_esignature_trust_lists_imported_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_esignature_trust_lists")),
    )
    op.create_table(
        "esignature_trust_roots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trust_list_id", sa.Integer(), nullable=False),
        sa.Column("centre_name", sa.String(length=500), nullable=False),
        sa.Column("ogrn", sa.String(length=20), nullable=True),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("thumbprint", sa.String(length=40), nullable=False),
        sa.Column("not_before", sa.DateTime(), nullable=False),
        sa.Column("not_after", sa.DateTime(), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["trust_list_id"], ["esignature_trust_lists.id"], name=op.f("fk_esignature_trust_roots_trust_list_id_esignature_trust_lists"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_esignature_trust_roots")),
    )
    op.create_index(op.f("ix_esignature_trust_roots_trust_list_id"), "esignature_trust_roots", ["trust_list_id"])
    op.create_index(op.f("ix_esignature_trust_roots_thumbprint"), "esignature_trust_roots", ["thumbprint"])
    op.create_table(
        "esignature_crls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("issuer", sa.String(length=1000), nullable=False),
        sa.Column("this_update", sa.DateTime(), nullable=True),
        sa.Column("next_update", sa.DateTime(), nullable=True),
        sa.Column("der", sa.LargeBinary(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_esignature_crls")),
        sa.UniqueConstraint("url", name=op.f("uq_esignature_crls_url")),
    )
    op.create_table(
        "esignature_doctors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("snils", sa.String(length=11), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_esignature_doctors_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_esignature_doctors")),
        sa.UniqueConstraint("user_id", name=op.f("uq_esignature_doctors_user_id")),
    )
    op.create_table(
        "esignature_dev_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("paramset", sa.String(length=40), nullable=False),
        sa.Column("private_key", sa.LargeBinary(), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_esignature_dev_keys_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_esignature_dev_keys")),
        sa.UniqueConstraint("user_id", name=op.f("uq_esignature_dev_keys_user_id")),
    )
    op.create_table(
        "esignature_conclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("certificate_thumbprint", sa.String(length=40), nullable=True),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("pdf_document_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["consultation_id"], ["consultations.id"], name=op.f("fk_esignature_conclusions_consultation_id_consultations"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_esignature_conclusions_created_by_id_users")),
        sa.ForeignKeyConstraint(["pdf_document_id"], ["documents.id"], name=op.f("fk_esignature_conclusions_pdf_document_id_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_esignature_conclusions")),
        sa.UniqueConstraint("consultation_id", "version", name=op.f("uq_esignature_conclusions_consultation_id")),
    )
    op.create_index(op.f("ix_esignature_conclusions_consultation_id"), "esignature_conclusions", ["consultation_id"])
    op.create_table(
        "esignature_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("conclusion_id", sa.Integer(), nullable=True),
        sa.Column("signer_user_id", sa.Integer(), nullable=False),
        sa.Column("cms", sa.LargeBinary(), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=False),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("archive_document_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["archive_document_id"], ["documents.id"], name=op.f("fk_esignature_signatures_archive_document_id_documents")),
        sa.ForeignKeyConstraint(["conclusion_id"], ["esignature_conclusions.id"], name=op.f("fk_esignature_signatures_conclusion_id_esignature_conclusions")),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name=op.f("fk_esignature_signatures_document_id_documents")),
        sa.ForeignKeyConstraint(["signer_user_id"], ["users.id"], name=op.f("fk_esignature_signatures_signer_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_esignature_signatures")),
    )
    op.create_index(op.f("ix_esignature_signatures_document_id"), "esignature_signatures", ["document_id"])


def downgrade():
    op.drop_table("esignature_signatures")
    op.drop_table("esignature_conclusions")
    op.drop_table("esignature_dev_keys")
    op.drop_table("esignature_doctors")
    op.drop_table("esignature_crls")
    op.drop_table("esignature_trust_roots")
    op.drop_table("esignature_trust_lists")
