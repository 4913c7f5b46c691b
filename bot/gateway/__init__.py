"""The Discord glue: thin layer over bot.answers.core."""
