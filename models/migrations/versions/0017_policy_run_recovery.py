"""a policy revision is a case the dispatcher and the recovery sweep know (issue 13, "nothing
waits forever unseen"): its reference (policy-v<N>, its run's parameter) and when every
customer's notice was written (till then a published revision with a notice is still open)

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("policy_version", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("notified_at", models.db.UTCDateTime(timezone=True), nullable=True))
    # versions before this one: their notices (if any) were written by the run that published them
    op.execute(
        "UPDATE policy_version SET reference = 'policy-v' || CAST(version AS VARCHAR(16)), "
        "notified_at = published_at"
    )
    with op.batch_alter_table("policy_version", schema=None) as batch_op:
        batch_op.alter_column(
            "reference", existing_type=sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False
        )
        batch_op.create_index(batch_op.f("ix_policy_version_reference"), ["reference"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("policy_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_version_reference"))
        batch_op.drop_column("notified_at")
        batch_op.drop_column("reference")
