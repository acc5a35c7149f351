"""contractor flow run: the onboarding run that waits for the privacy officer, so that the
command line can answer it

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contractor", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("flow_run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("contractor", schema=None) as batch_op:
        batch_op.drop_column("flow_run_id")
