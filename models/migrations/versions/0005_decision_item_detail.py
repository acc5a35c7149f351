"""decision item detail: what fulfilment asks of the system, proposed and final, the record
count shown to the operator, and paper delivery instead of electronic

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decision_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("system_action", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(
            sa.Column("final_system_action", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.add_column(sa.Column("record_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("paper_instead", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("decision_item", schema=None) as batch_op:
        batch_op.drop_column("paper_instead")
        batch_op.drop_column("record_count")
        batch_op.drop_column("final_system_action")
        batch_op.drop_column("system_action")
