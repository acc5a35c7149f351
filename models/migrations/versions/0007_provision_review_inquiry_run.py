"""provision review: a third party's request for personal data and its review; inquiry keeps
the request it is about and its flow run (so the dispatcher gives it exactly one)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provision_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("requester_kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recipient_address", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("basis", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("document_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("subject_email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("subject_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("proposal", sa.JSON(), nullable=False),
        sa.Column("consent_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("decided_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("received_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("flow_run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("provision_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provision_review_reference"), ["reference"], unique=True)
        batch_op.create_index(batch_op.f("ix_provision_review_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_provision_review_subject_email"), ["subject_email"], unique=False
        )
    with op.batch_alter_table("inquiry", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("request_reference", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("flow_run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("inquiry", schema=None) as batch_op:
        batch_op.drop_column("flow_run_id")
        batch_op.drop_column("request_reference")
    with op.batch_alter_table("provision_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provision_review_subject_email"))
        batch_op.drop_index(batch_op.f("ix_provision_review_status"))
        batch_op.drop_index(batch_op.f("ix_provision_review_reference"))
    op.drop_table("provision_review")
