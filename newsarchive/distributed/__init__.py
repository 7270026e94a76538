"""One crawl shared by many worker processes and machines through Redis, into one archive.

    newsarchive crawl demo --redis redis://127.0.0.1:6379/0 --workers 2 --db data/demo.db
    newsarchive worker --redis redis://10.0.0.5:6379/0          # on any machine that reaches Redis

The spider is the same as in a one-process crawl and does not know it is shared; what changes is
around it (every Redis key lives under `newsarchive:` in the Redis database of the URL):

- `shared`: the connection (one `Error:` line naming the URL when Redis cannot be reached), the
  keys, and the Lua scripts that move a request between the frontier and a worker's leases
  atomically, so a request is always either queued or leased by a live worker.
- `scheduler`: scrapy-redis's Scheduler, queue and dupefilter, adapted (see its docstring for why
  scrapy-redis alone is not enough): per-site frontier and dupefilter over newsarchive's canonical
  fingerprints, leases acknowledged when Scrapy is done with a request, returned to the frontier
  when a worker dies.
- `politeness`: per-host delay and concurrency enforced for the whole crawl in Redis, and
  robots.txt fetched once for the whole crawl and obeyed by every worker.
- `worker`: `newsarchive worker` (a Scrapy process with one crawler per site), its extension
  (heartbeat, the archive's known URLs from Redis, staying open until the crawl is done, stopping
  with one line when Redis loses the crawl) and its item pipeline (items to the writer's queue).
- `writer`: `newsarchive crawl --redis`: seeds the crawl, publishes what the archive knows,
  starts the local workers, stores every item (the only process that opens the SQLite files),
  returns dead workers' leases, detects the end, keeps the run rows.
"""

from newsarchive.distributed.shared import RedisProblem, connect

__all__ = ["RedisProblem", "connect"]
