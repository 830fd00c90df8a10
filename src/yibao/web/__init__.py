"""医保业务管理控制台: the web console, server-rendered pages over the API's service."""

from yibao.web.app import mount_console

__all__ = ["mount_console"]
