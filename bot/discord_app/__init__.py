"""The Discord glue: thin layer over bot.core."""
