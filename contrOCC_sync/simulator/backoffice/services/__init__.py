"""The back office's business rules. Views, commands and the scheduler only call these."""
