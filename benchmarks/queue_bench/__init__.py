"""Queue benchmark: N /video jobs in flight at once through the real VideoBot, against FakeDiscord.

    python -m benchmarks.queue_bench --jobs 100 500 1000
    python -m benchmarks.queue_bench --jobs 100 1000 --database-url postgres://postgres@127.0.0.1:5432/postgres

Every N runs in its own child process (so the peak RSS, the event loop and discord.py's globals belong
to that N alone); the parent prints one markdown table row per N and checks the targets. See
benchmarks/README.md for what each column means and how it is measured.

Where things are: `__main__` (arguments, the parent: one child per N, the tables, the target checks),
`run` (one N in the child: the bot, the measured window, the slash commands), `probes` (what is measured
while it runs: SQL statements, edit sends, loop lag, RSS), `provider` (the fixed-latency provider and its
catalog), `fake` (FakeDiscord slimmed for the benchmark), `report` (the result dict, per metric group),
`pyspy` (summarising a py-spy profile).
"""
