"""Discord adapters (one cog per feature). They validate, defer, call one core function and render."""
