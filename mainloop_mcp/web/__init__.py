"""The HTTP face of the hub: the Starlette app, its auth, and (later) the phone page."""
