"""Starlette app: JSON API and pages."""
