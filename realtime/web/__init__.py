"""The trading front end and the offline API docs, served by the realtime service.

`install_web(app)` is the one call `realtime.app` makes; everything the browser
loads comes from this package (no CDN, no outside fonts), so the page and /docs
work on a machine without internet.
"""

from realtime.web.routes import install_web

__all__ = ["install_web"]
