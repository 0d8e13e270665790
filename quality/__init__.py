"""Supervisors' quality work: every contact scored, the centre's KPIs, coaching."""
