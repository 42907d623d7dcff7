"""The HTTP API tests. A package so that its conftest.py (module ``api.conftest``) does not replace
tests/conftest.py as the module ``conftest`` the tests in tests/ import their helpers from."""
