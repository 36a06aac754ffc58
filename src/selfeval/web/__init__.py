"""`selfeval serve`: the local web application (install the `web` extra: `pip install -e '.[web]'`).

    from selfeval.web.app import create_app
    app = create_app("data/")          # an ASGI application (Starlette)

Nothing here is imported by `import selfeval` or by `selfeval --help`.
"""
