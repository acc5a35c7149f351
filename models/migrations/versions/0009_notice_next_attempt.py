"""notice next_attempt_at: when the outbox may try a notice again after a temporary failure
(exponential backoff across delivery calls, so no call waits inside itself)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

import models.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", models.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_column("next_attempt_at")
