"""A Discord bot in English and Chinese (zh-TW, and zh-CN generated from it) explaining the 2025-08-07 US executive
order that opens 401(k) plans to crypto."""

__version__ = "0.1.0"
