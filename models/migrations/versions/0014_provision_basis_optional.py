"""provision_record.basis may be empty: a fixture's provision without a basis is a provision
without consent (docs/contract.md "Systems and fixtures"; issue 13 §4)

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provision_record", schema=None) as batch_op:
        batch_op.alter_column("basis", existing_type=sqlmodel.sql.sqltypes.AutoString(), nullable=True)


def downgrade() -> None:
    op.execute(sa.text("UPDATE provision_record SET basis = '' WHERE basis IS NULL"))
    with op.batch_alter_table("provision_record", schema=None) as batch_op:
        batch_op.alter_column("basis", existing_type=sqlmodel.sql.sqltypes.AutoString(), nullable=False)
