"""leak incidents: the incident (facts, triage and its confirmation, report dates, notice
method) and the customers it affected, by customer id (issue 13 §1)

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("discovered_on", sa.Date(), nullable=False),
        sa.Column("systems", sa.JSON(), nullable=False),
        sa.Column("data_items", sa.JSON(), nullable=False),
        sa.Column("cause", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("encrypted", sa.Boolean(), nullable=False),
        sa.Column("improper_purpose", sa.Boolean(), nullable=False),
        sa.Column("sensitive_data", sa.Boolean(), nullable=False),
        sa.Column("financial_loss_risk", sa.Boolean(), nullable=False),
        sa.Column("affected_people", sa.Integer(), nullable=False),
        sa.Column("triage_cases", sa.JSON(), nullable=False),
        sa.Column("reportable", sa.Boolean(), nullable=True),
        sa.Column("confirmed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("confirmed_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("preliminary_due", sa.Date(), nullable=True),
        sa.Column("final_due", sa.Date(), nullable=True),
        sa.Column("preliminary_filed_on", sa.Date(), nullable=True),
        sa.Column("final_filed_on", sa.Date(), nullable=True),
        sa.Column("notice_method", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("public_notice", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("reports", sa.JSON(), nullable=False),
        sa.Column("reported_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("flow_run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_reference"), ["reference"], unique=True)
        batch_op.create_index(batch_op.f("ix_incident_status"), ["status"], unique=False)
    op.create_table(
        "incident_subject",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("noticed_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "customer_id", name="uq_incident_subject"),
    )
    with op.batch_alter_table("incident_subject", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_subject_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_subject_incident_id"), ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incident_subject", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_subject_incident_id"))
        batch_op.drop_index(batch_op.f("ix_incident_subject_customer_id"))
    op.drop_table("incident_subject")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_status"))
        batch_op.drop_index(batch_op.f("ix_incident_reference"))
    op.drop_table("incident")
