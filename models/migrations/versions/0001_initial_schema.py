"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 06:42:10.402044
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("subject_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("flow_run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_subject_ref"), ["subject_ref"], unique=False)

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("mac", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # The chain starts at a fixed genesis tip; every append moves it on. The app seals it
    # (models.schema.upgrade) with a key the migration does not know.
    op.execute("INSERT INTO audit_head (id, seq, last_hash, mac) VALUES (1, 0, '" + "0" * 64 + "', '')")
    op.create_table(
        "consent_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("keep_until", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_event_email"), ["email"], unique=False)

    op.create_table(
        "contractor",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("services", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("data_categories", sa.JSON(), nullable=False),
        sa.Column("locations", sa.JSON(), nullable=False),
        sa.Column("subcontractors", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("systems", sa.JSON(), nullable=False),
        sa.Column("certifications", sa.JSON(), nullable=False),
        sa.Column("next_reassessment_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("certification_expires_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contractor", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contractor_certification_expires_at"), ["certification_expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_contractor_next_reassessment_at"), ["next_reassessment_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_contractor_reference"), ["reference"], unique=True)
        batch_op.create_index(batch_op.f("ix_contractor_status"), ["status"], unique=False)

    op.create_table(
        "inquiry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("answered_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inquiry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inquiry_reference"), ["reference"], unique=True)
        batch_op.create_index(batch_op.f("ix_inquiry_status"), ["status"], unique=False)

    op.create_table(
        "provision_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("subject_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recipient_address", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("basis", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("consent_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("is_foreign", sa.Boolean(), nullable=False),
        sa.Column("provided_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("keep_until", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("provision_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provision_record_keep_until"), ["keep_until"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_provision_record_subject_email"), ["subject_email"], unique=False
        )

    op.create_table(
        "request",
        sa.Column(
            "request_type",
            sa.Enum(
                "purpose_notification",
                "disclosure",
                "correction",
                "suspension",
                "erasure",
                "stop_third_party_provision",
                name="requesttype",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "identity_verification",
                "awaiting_requester",
                "review",
                "awaiting_approval",
                "fulfilment",
                "completed",
                "refused",
                "withdrawn",
                "closed",
                name="status",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "waiting_for",
            sa.Enum(
                "one_time_code",
                "documents",
                "clarification",
                "payment",
                name="waitingfor",
                native_enum=False,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "outcome",
            sa.Enum("granted", "partially_granted", "refused", name="outcome", native_enum=False, length=40),
            nullable=True,
        ),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status_token_hash", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "principal",
                "legal_representative",
                "appointed_agent",
                name="role",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("reason_codes", sa.JSON(), nullable=False),
        sa.Column("received_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_request_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_request_reference"), ["reference"], unique=True)
        batch_op.create_index(batch_op.f("ix_request_request_type"), ["request_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_request_status"), ["status"], unique=False)

    op.create_table(
        "clock_pause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column(
            "waiting_for",
            sa.Enum(
                "one_time_code",
                "documents",
                "clarification",
                "payment",
                name="waitingfor",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("started_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("clock_pause", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clock_pause_request_id"), ["request_id"], unique=False)

    op.create_table(
        "contractor_assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contractor_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("blockers", sa.JSON(), nullable=False),
        sa.Column("missing_clauses", sa.JSON(), nullable=False),
        sa.Column("approved_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("assessed_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contractor_id"],
            ["contractor.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contractor_assessment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contractor_assessment_contractor_id"), ["contractor_id"], unique=False
        )

    op.create_table(
        "decision_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("item_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("system_key", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("proposed_action", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("proposed_reasons", sa.JSON(), nullable=False),
        sa.Column("final_action", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("final_reasons", sa.JSON(), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("decided_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "item_key"),
    )
    with op.batch_alter_table("decision_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_item_request_id"), ["request_id"], unique=False)

    op.create_table(
        "document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("stored_path", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("uploaded_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_request_id"), ["request_id"], unique=False)

    op.create_table(
        "fee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("amount_yen", sa.Integer(), nullable=False),
        sa.Column("postage_yen", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("requested_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_table(
        "fulfilment_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("system_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "export",
                "rectify",
                "erase",
                "restrict",
                "stop_provision",
                name="systemaction",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("affected", sa.Integer(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("updated_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("fulfilment_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fulfilment_action_request_id"), ["request_id"], unique=False)

    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recipient_email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("delivery_status", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("provider_message_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_state"), ["state"], unique=False)

    op.create_table(
        "party",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "principal",
                "legal_representative",
                "appointed_agent",
                name="role",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("is_requester", sa.Boolean(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("company", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("login_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("customer_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("party", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_party_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_party_request_id"), ["request_id"], unique=False)

    op.create_table(
        "identity_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("codes_issued", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("decided_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["party.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("identity_check", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_check_request_id"), ["request_id"], unique=False)

    op.create_table(
        "payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fee_id", sa.Integer(), nullable=False),
        sa.Column("amount_yen", sa.Integer(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("provider_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("confirmed_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("paid_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fee_id"],
            ["fee.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider_ref"),
    )
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_fee_id"), ["fee_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_fee_id"))

    op.drop_table("payment")
    with op.batch_alter_table("identity_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_check_request_id"))

    op.drop_table("identity_check")
    with op.batch_alter_table("party", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_party_request_id"))
        batch_op.drop_index(batch_op.f("ix_party_email"))

    op.drop_table("party")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_state"))
        batch_op.drop_index(batch_op.f("ix_notice_request_id"))

    op.drop_table("notice")
    with op.batch_alter_table("fulfilment_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fulfilment_action_request_id"))

    op.drop_table("fulfilment_action")
    op.drop_table("fee")
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_request_id"))

    op.drop_table("document")
    with op.batch_alter_table("decision_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_item_request_id"))

    op.drop_table("decision_item")
    with op.batch_alter_table("contractor_assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contractor_assessment_contractor_id"))

    op.drop_table("contractor_assessment")
    with op.batch_alter_table("clock_pause", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clock_pause_request_id"))

    op.drop_table("clock_pause")
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_status"))
        batch_op.drop_index(batch_op.f("ix_request_request_type"))
        batch_op.drop_index(batch_op.f("ix_request_reference"))
        batch_op.drop_index(batch_op.f("ix_request_received_at"))
        batch_op.drop_index(batch_op.f("ix_request_due_at"))

    op.drop_table("request")
    with op.batch_alter_table("provision_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provision_record_subject_email"))
        batch_op.drop_index(batch_op.f("ix_provision_record_keep_until"))

    op.drop_table("provision_record")
    with op.batch_alter_table("inquiry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inquiry_status"))
        batch_op.drop_index(batch_op.f("ix_inquiry_reference"))

    op.drop_table("inquiry")
    with op.batch_alter_table("contractor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contractor_status"))
        batch_op.drop_index(batch_op.f("ix_contractor_reference"))
        batch_op.drop_index(batch_op.f("ix_contractor_next_reassessment_at"))
        batch_op.drop_index(batch_op.f("ix_contractor_certification_expires_at"))

    op.drop_table("contractor")
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_event_email"))

    op.drop_table("consent_event")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_subject_ref"))
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))

    op.drop_table("audit_event")
