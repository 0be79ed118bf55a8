"""What GitHub promises about webhook deliveries, in one place."""

from __future__ import annotations

# A delivery can be redelivered, under its delivery ID, within 3 days of the original (LIMITS.md).
REDELIVERY_WINDOW_SECONDS = 3 * 24 * 3600
