"""The floor: the smallest discord.py bot that answers /ping with "pong", run against the same fake Discord.

Usage: python benchmarks/minimal_bot.py API_BASE TOKEN
"""

from __future__ import annotations

import asyncio
import signal
import sys

import discord
import discord.http
from discord import app_commands


class MinimalBot(discord.AutoShardedClient):
    def __init__(self) -> None:
        super().__init__(intents=discord.Intents(guilds=True))
        self.tree = app_commands.CommandTree(self)

        @self.tree.command(name="ping", description="pong")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong")

    async def setup_hook(self) -> None:
        await self.tree.sync()


async def main(token: str) -> None:
    bot = MinimalBot()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with bot:
        runner = asyncio.create_task(bot.start(token))
        await stop.wait()
        await bot.close()
        runner.cancel()


if __name__ == "__main__":
    discord.http.Route.BASE = sys.argv[1]
    asyncio.run(main(sys.argv[2]))
