"""/docs: Swagger UI over the app's OpenAPI description, loaded from the vendored copy in static/vendor/swagger-ui
(tools/vendor-web-assets) instead of FastAPI's default CDN, so that the page works offline. The app is made with
docs_url=None and redoc_url=None (FastAPI's own pages load from a CDN) and includes this router instead."""

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html

SWAGGER_UI = "/static/vendor/swagger-ui"

router = APIRouter()


@router.get("/docs", include_in_schema=False)
async def docs(request: Request):
    app = request.app
    return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} · HTTP API",
                               swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
                               swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
                               swagger_favicon_url="/static/favicon.svg",
                               # no validator badge: it would send the API description to validator.swagger.io
                               swagger_ui_parameters={"validatorUrl": None})
