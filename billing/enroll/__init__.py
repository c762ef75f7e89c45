"""Enrollment: the merchant website's API for card-on-file authorization through Toast's
hosted checkout, the job that completes enrollments left pending, and the sandbox demo site."""

from __future__ import annotations
