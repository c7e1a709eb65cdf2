"""API routers, one module per resource; `web.app.create_app` includes each."""
