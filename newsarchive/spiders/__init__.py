"""Scrapy spiders. One spider serves every site: PortalSpider (`scrapy crawl portal -a site=...`)."""
