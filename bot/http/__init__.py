"""The HTTP interactions endpoint (`python -m bot serve`): Discord POSTs each interaction, signed with Ed25519.

A thin transport over bot.interactions, like the gateway adapter; it may import discord.py only to serialise
messages exactly as the gateway path does (bot.discord_wire.payload).
"""
