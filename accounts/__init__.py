"""Local accounts: users with hashed passwords and roles, and what each role may do."""
