"""Operators: users, roles, tenant scopes and the operator audit trail."""
