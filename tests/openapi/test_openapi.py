"""The OpenAPI document used as outside clients would use it (issue 16).

1. A client is generated from the running server's /openapi.json by openapi-python-client (PyPI),
   and drives join, pull and push against a real server (the seeded Nantes demo campaign on an
   SQLite file, real HTTP on loopback): every request is built from the generated models and every
   answer parsed back into them, so a schema that disagrees with the server fails here.
2. Schemathesis (PyPI) fuzzes every operation from the same document, bounded, with a coordinator's
   token and with a volunteer's: no 5xx, every answer conforming to its schema.

Run by tests/openapi/run.sh, which installs both tools into a virtualenv. Fails, never skips.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid


def uuid7() -> str:
    ms = int(time.time() * 1000)
    rand = uuid.uuid4().int
    value = (ms << 80) | (0x7 << 76) | ((rand >> 64) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def start_server(work: str):
    server = subprocess.Popen(
        [os.environ["DOORSTEP_SERVER"], "test-fixture", "--relaxed-limits", "--database",
         os.path.join(work, "fixture.db")],
        stdout=subprocess.PIPE,
        text=True,
    )
    fixture = json.loads(server.stdout.readline())
    return server, fixture


def generate_client(url: str, work: str, venv_bin: str):
    spec = os.path.join(work, "openapi.json")
    with urllib.request.urlopen(url + "/openapi.json") as r, open(spec, "wb") as f:
        f.write(r.read())
    out = os.path.join(work, "doorstep_client")
    gen = subprocess.run(
        [os.path.join(venv_bin, "openapi-python-client"), "generate", "--path", spec, "--meta", "none",
         "--output-path", out, "--overwrite"],
        capture_output=True, text=True,
    )
    assert gen.returncode == 0, gen.stdout + gen.stderr
    # Only the two CSV uploads may be left out (the generator has no text/csv bodies); no schema
    # may be dropped.
    problems = [l for l in gen.stdout.splitlines() if "Unable to process" in l or "WARNING" in l]
    assert all("text/csv" in p or ".csv within" in p for p in problems), gen.stdout
    assert "Unable to process" not in gen.stdout, gen.stdout
    sys.path.insert(0, work)
    return spec


def drive_generated_client(url: str, fixture: dict):
    from doorstep_client import AuthenticatedClient, Client
    from doorstep_client.api.default import (
        get_api_v1_me, post_api_v1_join, post_api_v1_sync_pull, post_api_v1_sync_push,
    )
    from doorstep_client.models import (
        JoinRequest, JoinResponse, Me, PullRequest, PullResponse, PushRequest, PushResponse,
    )

    anonymous = Client(base_url=url)
    device_id = "py-openapi-" + uuid.uuid4().hex[:8]
    joined = post_api_v1_join.sync(
        client=anonymous, body=JoinRequest(protocol=1, code=fixture["code"], device_id=device_id)
    )
    assert isinstance(joined, JoinResponse), joined
    assert joined.volunteer_id == fixture["volunteer"] and joined.campaign_id == "demo-nantes"

    phone = AuthenticatedClient(base_url=url, token=joined.token)
    me = get_api_v1_me.sync(client=phone)
    assert isinstance(me, Me), me

    pulled = post_api_v1_sync_pull.sync(client=phone, body=PullRequest(protocol=1, cursor=None, held=[]))
    assert isinstance(pulled, PullResponse), pulled
    bucket = next(b for b in pulled.to_dict()["buckets"] if b["turf_id"] == fixture["turf"])
    assert bucket["package"], "a first pull carries the whole package"
    doors = [d["id"] for d in _doors(bucket["package"])]
    assert len(doors) > 10, f"the package carries the turf's doors ({len(doors)})"

    now = int(time.time() * 1000)
    report = {
        "id": uuid7(), "campaign_id": "demo-nantes", "turf_id": fixture["turf"],
        "target": {"kind": "door", "id": {"id": doors[0]}}, "result_code": "not_home", "answers": [],
        "note": None, "safety_flags": [], "supersedes": None, "survey_version": 1,
        "device_time_ms": now, "hlc": {"millis": now, "counter": 0}, "monotonic_ms": 1,
        "position": {"lat": 47.2137, "lon": -1.5575, "accuracy_m": 8.0}, "plausibility": [],
        "volunteer_id": joined.volunteer_id, "device_id": device_id,
    }
    body = PushRequest.from_dict({"protocol": 1, "device_id": device_id, "reports": [report]})
    first = post_api_v1_sync_push.sync(client=phone, body=body)
    assert isinstance(first, PushResponse), first
    assert first.to_dict()["results"][0]["status"] == "accepted", first.to_dict()
    again = post_api_v1_sync_push.sync(client=phone, body=body)
    assert again.to_dict()["results"][0]["status"] == "duplicate", again.to_dict()
    # A refusal comes back as the documented error body.
    refused = post_api_v1_sync_push.sync_detailed(
        client=AuthenticatedClient(base_url=url, token="not-a-token"), body=body
    )
    assert refused.status_code == 401 and json.loads(refused.content)["code"], refused
    print(f"generated client: joined, pulled {len(doors)} doors, pushed 1 report (accepted, then duplicate)")
    return joined.token


def _doors(package) -> list:
    """Every door object in a pulled bucket, wherever the package nests it."""
    found = []

    def walk(v):
        if isinstance(v, dict):
            if "id" in v and "building_id" in v and "label" in v:
                found.append(v)
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(package)
    return found


def fuzz(spec: str, url: str, token: str, who: str, venv_bin: str, examples: int, only: str = ".*"):
    run = subprocess.run(
        [os.path.join(venv_bin, "st"), "run", spec, "--url", url,
         "--header", f"Authorization: Bearer {token}",
         "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance",
         "--phases", "examples,coverage,fuzzing", "--max-examples", str(examples), "--seed", "16",
         "--workers", "1", "--no-color", "--generation-database", "none",
         "--exclude-path", "/api/v1/events",
         "--exclude-path-regex", "^/api/v1/(session|devices/.*/revoke)$",
         "--include-path-regex", only],
        capture_output=True, text=True,
    )
    tail = "\n".join(run.stdout.splitlines()[-40:])
    print(f"schemathesis as {who}:\n{tail}")
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]


def main():
    venv_bin = os.path.dirname(sys.executable)
    examples = int(os.environ.get("DOORSTEP_FUZZ_EXAMPLES", "8"))
    with tempfile.TemporaryDirectory() as work:
        server, fixture = start_server(work)
        try:
            url = fixture["url"]
            spec = generate_client(url, work, venv_bin)
            device_token = drive_generated_client(url, fixture)
            fuzz(spec, url, fixture["coordinator_token"], "coordinator", venv_bin, examples)
            fuzz(spec, url, device_token, "volunteer", venv_bin, examples * 4, "^/api/v1/(sync/(push|pull)|me)$")
        finally:
            server.kill()
            server.wait()
    print("OpenAPI: generated client and schemathesis passed")


if __name__ == "__main__":
    main()
