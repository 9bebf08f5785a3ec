"""mailbox lease: one run at a time reads a returns mailbox folder

Revision ID: 0071_mailbox_lease
Revises: 0070_account_pages
Create Date: 2026-12-01 05:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0071_mailbox_lease'
down_revision = '0070_account_pages'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mailboxlease',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('account', sa.String(), nullable=False),
                    sa.Column('folder', sa.String(), nullable=False),
                    sa.Column('holder', sa.String(), nullable=False),
                    sa.Column('since', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('account', 'folder')
                    )


def downgrade() -> None:
    op.drop_table('mailboxlease')
