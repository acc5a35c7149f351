"""notice claim: attempts and claimed_at, for the mail outbox's claim-before-send

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import models.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("claimed_at", models.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("attempts")
