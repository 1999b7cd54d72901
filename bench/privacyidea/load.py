"""Loads seed files into a running privacyIDEA through its HTTP API, as an admin does:
`POST /auth`, then `POST /token/load/<file>` (multipart) per file, each timed around the request.

Arguments: the base URL, the admin's name and password, then FILE UNLOCK pairs where UNLOCK is
`psk=<hex>` or `password=<text>`. Prints, as JSON, each file's name, seconds and the counts
privacyIDEA answered with.
"""
import json
import os
import sys
import time

import requests

base, user, password = sys.argv[1:4]
auth = requests.post(f"{base}/auth", data={"username": user, "password": password}, timeout=60)
auth.raise_for_status()
token = auth.json()["result"]["value"]["token"]
results = []
pairs = sys.argv[4:]
for path, unlock in zip(pairs[::2], pairs[1::2]):
    name, value = unlock.split("=", 1)
    with open(path, "rb") as document:
        started = time.monotonic()
        answer = requests.post(f"{base}/token/load/{os.path.basename(path)}", headers={"Authorization": token},
                               data={"type": "pskc", name: value}, files={"file": document}, timeout=3600)
        seconds = time.monotonic() - started
    answer.raise_for_status()
    value = answer.json()["result"]["value"]
    results.append({"file": os.path.basename(path), "seconds": seconds, "imported": value["n_imported"],
                    "notImported": value["n_not_imported"]})
print(json.dumps(results))
