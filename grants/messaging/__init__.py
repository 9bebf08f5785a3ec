"""What to send whom and when: the chase plan over the ladder, receipts and rejections, risk alerts and
the digest; idempotent sending through the outbox and Apprise channels, and the message templates."""
