"""Every registered estimator, one family per module."""
