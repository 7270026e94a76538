"""A fault injected into a real crawl: a spider middleware next to the spider whose output
raises on pages whose URL holds $NEWSARCHIVE_TEST_FAULT_ON, as a callback with an error in it
would. Loaded by a crawl subprocess through `-s SPIDER_MIDDLEWARES` and PYTHONPATH."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any


class RaiseOnPage:
    def process_spider_output(self, response: Any, result: Iterable[Any]) -> Iterator[Any]:
        if os.environ["NEWSARCHIVE_TEST_FAULT_ON"] in response.url:
            raise RuntimeError("injected fault\nwith a second line")
        yield from result

    async def process_spider_output_async(self, response: Any, result: Any) -> Any:
        if os.environ["NEWSARCHIVE_TEST_FAULT_ON"] in response.url:
            raise RuntimeError("injected fault\nwith a second line")
        async for item in result:
            yield item
