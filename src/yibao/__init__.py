"""yibao (医保): 城乡居民基本医疗保险 — policy as code and one-stop settlement."""

__version__ = "0.1.0"
