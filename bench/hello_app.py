"""The Python HTTP ceiling for bench/api_throughput.py: the smallest Starlette JSON endpoint, served by the same
uvicorn (uvloop + httptools, 2 workers, no access log) as `rustok serve`.

    uvicorn --app-dir bench hello_app:app --workers 2 --no-access-log --log-level warning
"""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


app = Starlette(routes=[Route("/", hello, methods=["GET", "POST"])])
