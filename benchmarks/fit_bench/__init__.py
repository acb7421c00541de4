"""Fit benchmark: fitting a finished video under Discord's 10 MiB, side by side with ffmpeg, and the whole
delivery (download over loopback, fit, upload to the fake Discord).

    python -m benchmarks.fit_bench                       # both clips, 3 repetitions
    python -m benchmarks.fit_bench --clips 1080p --repeat 5 --json /tmp/fit.json

It makes its own inputs with ffmpeg's lavfi sources (seeded, no downloads) and needs Debian's ffmpeg
(`apt-get install -y ffmpeg`); the test suite does not. See benchmarks/README.md for what is measured.

Where things are: `__main__` (arguments, the run, the target checks), `clips` (the input recipes and making
them), `measure` (one timed run: wall, CPU, other processes' CPU; our fit, ffmpeg's, the previous fit, the
decode floor; SSIM), `delivery` (loopback download, fit, upload to FakeDiscord), `report` (the tables).
"""
