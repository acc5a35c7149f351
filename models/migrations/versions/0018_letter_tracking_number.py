"""a registered letter's tracking number (issue 15 §2): the postal identity route answers by
registered mail, and the help desk records Japan Post's number when it marks the letter sent

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tracking_number", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.drop_column("tracking_number")
