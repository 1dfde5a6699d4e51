"""Root conftest: the project's own tests use pytester to run pytest inside pytest."""

pytest_plugins = ["pytester"]
