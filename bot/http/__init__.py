"""The HTTP interactions endpoint (`python -m bot serve`): Discord POSTs each interaction, signed with Ed25519.

A thin transport over bot.interactions, a sibling of the gateway (bot.gateway), never importing it or discord.py:
message bodies come from bot.discord_wire.message, byte for byte what discord.py sends on the gateway path.
"""
