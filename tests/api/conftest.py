"""Fixtures the HTTP API tests share; the plain helpers are in apihelp.py."""

from __future__ import annotations

import pytest

from carriersim.simulator import Simulation
from carriersim.simulator.http import create_app


@pytest.fixture
async def client(aiohttp_client):
    """A test client of a fresh app (seed 1, admin token ``admin``)."""
    return await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin"))
