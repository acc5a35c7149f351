"""run_restart: the restarts of a case's flow run after it died, and the escalation when
they did not keep it alive (issue 11)

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_restart",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("restarts", sa.Integer(), nullable=False),
        sa.Column("dead_run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("dead_state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("updated_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "reference", name="uq_run_restart_case"),
    )
    with op.batch_alter_table("run_restart", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_restart_escalated_at"), ["escalated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_restart", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_restart_escalated_at"))
    op.drop_table("run_restart")
