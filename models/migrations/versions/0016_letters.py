"""letters the help desk prints and posts (issue 15 §1): the acknowledgement of a request
entered for a requester answered on paper, keyed like the outbox, until marked sent

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("created_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["request.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_letter_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_letter_sent_at"), ["sent_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_letter_sent_at"))
        batch_op.drop_index(batch_op.f("ix_letter_request_id"))
    op.drop_table("letter")
