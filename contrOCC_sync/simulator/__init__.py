"""The simulated back office: a second Django project (see docs/backoffice-simulator.md)."""
