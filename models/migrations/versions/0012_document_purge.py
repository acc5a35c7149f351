"""document purge: an agent's uploaded file is deleted a set number of days after its request
closed; the row stays (kind, type, size, sha256) with the time it was purged (issue 12 §4)

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purged_at", models.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.alter_column("stored_path", existing_type=sqlmodel.sql.sqltypes.AutoString(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE document SET stored_path = '' WHERE stored_path IS NULL")
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.alter_column("stored_path", existing_type=sqlmodel.sql.sqltypes.AutoString(), nullable=False)
        batch_op.drop_column("purged_at")
