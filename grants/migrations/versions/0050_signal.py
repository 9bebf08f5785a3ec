"""signal: risk history (RiskEvent) for past board packs; delivery tracked per channel (Notification.delivered_json)

Revision ID: 0050_signal
Revises: 0030_lead_links
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0050_signal"
down_revision = "0030_lead_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "riskevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("risk_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("change", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rag", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["risk_id"], ["risk.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("riskevent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_riskevent_risk_id"), ["risk_id"], unique=False)
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivered_json", sa.Text(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_column("delivered_json")
    with op.batch_alter_table("riskevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_riskevent_risk_id"))
    op.drop_table("riskevent")
