"""Adapters that turn the outside world (files, Strava, Stripe) into platform types."""
