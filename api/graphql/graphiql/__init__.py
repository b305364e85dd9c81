"""GraphiQL served from the service itself: no CDN, works offline and under a strict CSP.

The builds come from the npm packages pinned in package.json (installed by `make`); a plain
`pip install` without them falls back to the same versions on unpkg.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
ASSETS_PATH = "/static/graphiql"
CDN = "https://unpkg.com"

# name served -> (file under node_modules, CDN path with the pinned version)
VENDORED = {
    "react.js": ("react/umd/react.production.min.js", "react@18.3.1/umd/react.production.min.js"),
    "react-dom.js": (
        "react-dom/umd/react-dom.production.min.js",
        "react-dom@18.3.1/umd/react-dom.production.min.js",
    ),
    "graphiql.js": ("graphiql/graphiql.min.js", "graphiql@3.8.3/graphiql.min.js"),
    "graphiql.css": ("graphiql/graphiql.min.css", "graphiql@3.8.3/graphiql.min.css"),
}
OWN = {"boot.js": HERE / "boot.js", "page.css": HERE / "page.css"}
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def vendored() -> bool:
    return all((NODE_MODULES / path).is_file() for path, _ in VENDORED.values())


def asset_url(name: str) -> str:
    if name in OWN or vendored():
        return f"{ASSETS_PATH}/{name}"
    return f"{CDN}/{VENDORED[name][1]}"


def page() -> HTMLResponse:
    html = (HERE / "page.html").read_text()
    for name in (*VENDORED, *OWN):
        html = html.replace("{{" + name + "}}", asset_url(name))
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY} if vendored() else {}
    return HTMLResponse(html, headers=headers)


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name in OWN:
        return FileResponse(OWN[name], headers={"Cache-Control": "no-cache"})
    if name in VENDORED and vendored():
        return FileResponse(
            NODE_MODULES / VENDORED[name][0],
            headers={"Cache-Control": "public, max-age=86400"},
        )
    return Response("Not Found", status_code=404)
