"""Data: mixture synthesis (and, later, data sets for training)."""
