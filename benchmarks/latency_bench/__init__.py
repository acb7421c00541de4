"""How soon the bot learns that a provider finished a job, and how many requests that costs.

Two measurements side by side in one run (`python -m benchmarks.latency_bench`):

- **Polling policies, in virtual time** (`polling.py`): the runner's own `VideoWaiter` polls a simulated
  provider whose jobs finish at log-normal times (median 60 s, sigma 0.3; and a short case, median
  8 s), on a virtual clock, for the seed's fixed 2 s, today's fixed provider cadence, and the learned
  schedule after 20 learned jobs. Lag = the poll that saw the video − the moment it was done. This is
  exact for a policy (a poll's own network time is not in it), and 2000 jobs take a second.
- **Push, for real** (`push.py`): the Gemini and fal providers' `watch` through their real clients
  against the fakes on 127.0.0.1 (server-sent events), jobs finishing after a short wall-clock time;
  lag = when `watch` yielded SUCCEEDED − when the fake marked the job done; requests = the fake's
  count of stream and status requests per job.
"""
