# SPDX-License-Identifier: MIT
"""A healthy FastAPI service for bench/overhead.py --only fastapi: one
async endpoint answering a small JSON document, run by gunicorn with
UvicornWorker workers (uvloop, httptools)."""
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def hello():
    return {"hello": "world"}
