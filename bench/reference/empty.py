"""An empty FastAPI POST endpoint: the ceiling of FastAPI + uvicorn on this machine."""

from fastapi import FastAPI

app = FastAPI()


@app.post("/api/webhooks/jira")
async def empty() -> dict[str, str]:
    return {"status": "ok"}
