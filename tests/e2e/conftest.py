from tests.e2e.test_discord_e2e import harness

__all__ = ["harness"]
