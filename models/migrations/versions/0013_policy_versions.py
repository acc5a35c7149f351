"""policy versions: the privacy policy's published versions (version 1, the seed's text,
published here), and the version in force recorded on each request and notice (issue 13 §2)

Revision ID: 0013
Revises: 0012
"""

from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "policy_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("needs_notice", sa.Boolean(), nullable=False),
        sa.Column("proposed_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("proposed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("flow_run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("published_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("in_force_on", sa.Date(), nullable=True),
        sa.Column("approved_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("policy_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_version_version"), ["version"], unique=True)
    for name in ("request", "notice"):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("policy_version", sa.Integer(), nullable=True))
    from models.policy import shipped  # the texts in policy/, published as they were in force

    now = datetime.now(UTC)
    op.bulk_insert(
        table,
        [
            {
                "version": v.version,
                "status": "published",
                "text": v.text,
                "findings": [],
                "needs_notice": False,
                "proposed_at": now,
                "proposed_by": "policy/versions.toml",
                "published_at": now,
                "in_force_on": v.in_force_on,
                "approved_by": "policy/versions.toml",
            }
            for v in shipped()
        ],
    )


def downgrade() -> None:
    for name in ("notice", "request"):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column("policy_version")
    with op.batch_alter_table("policy_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_version_version"))
    op.drop_table("policy_version")
