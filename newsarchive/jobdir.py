"""JOBDIR across runs, working with Scrapy's own job state (scheduler queue, dupefilter's
`requests.seen`, SpiderState's `spider.state`) rather than around it.

- A run that was killed (kill -9, power loss) leaves Scrapy's state half-written: Scrapy writes it
  consistently only on a clean stop. A marker file present when a run starts says the last run
  was killed; its state is then dropped before the scheduler opens it, and the spider walks its
  listings past pages that bring nothing new (the archive, which commits as it goes, says what
  is done).
- A run stopped cleanly mid-crawl (Ctrl-C, --max-pages) keeps its state: Scrapy continues its own
  queue on `--resume`.
- A finished run leaves nothing to resume, and its `requests.seen` would hide every page from the
  next run with the same job directory: the directory goes, but only on `engine_stopped`, after
  the scheduler, the dupefilter and SpiderState have all written and closed their files
  (deleting it on `spider_closed` raced SpiderState, which then failed with FileNotFoundError).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# In JOBDIR while a crawl runs: still there at start means the last run was killed.
RUNNING_MARKER = "newsarchive-running"
# What Scrapy keeps in JOBDIR.
JOBDIR_STATE = ("requests.queue", "requests.seen", "spider.state")


class JobDirLifecycle:
    def __init__(self, crawler: Crawler, jobdir: Path) -> None:
        self.crawler = crawler
        self.jobdir = jobdir
        self.reason: str | None = None
        # Extensions are built after the spider and before the scheduler opens JOBDIR.
        self.resuming = self._prepare()
        spider = crawler.spider
        if self.resuming and spider is not None and hasattr(spider, "resume_walk"):
            spider.resume_walk = True
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JobDirLifecycle:
        jobdir = crawler.settings.get("JOBDIR")
        if not jobdir:
            raise NotConfigured
        return cls(crawler, Path(jobdir))

    def _prepare(self) -> bool:
        """Make the job directory ready; True when this run continues an earlier one."""
        marker = self.jobdir / RUNNING_MARKER
        resuming = False
        if marker.exists():
            logger.warning(
                "the last crawl into %s was killed: resuming from what the archive holds",
                self.jobdir,
            )
            for name in JOBDIR_STATE:
                path = self.jobdir / name
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()
            resuming = True
        elif (self.jobdir / "requests.queue").exists():
            resuming = True  # stopped cleanly mid-crawl: Scrapy continues its own queue
        self.jobdir.mkdir(parents=True, exist_ok=True)
        marker.write_text("a crawl is running (or was killed) with this job directory\n")
        return resuming

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self.reason = reason

    def engine_stopped(self) -> None:
        if self.reason is None:
            return  # the spider never closed: leave the marker, the next run will clean up
        (self.jobdir / RUNNING_MARKER).unlink(missing_ok=True)
        if self.reason == "finished":
            shutil.rmtree(self.jobdir, ignore_errors=True)
