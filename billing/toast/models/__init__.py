"""Pydantic request and response models of the Toast APIs (strict requests, tolerant responses)."""

from __future__ import annotations
