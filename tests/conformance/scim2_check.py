"""Runs scim2-tester against a running scim-otp API and prints one line per check.

Usage: python scim2_check.py BASE_URL USER PASSWORD
Exit status 0; the caller reads the lines (status, tags, title, reason) and decides.
"""

import sys

from httpx import Client
from scim2_client.engines.httpx import SyncSCIMClient
from scim2_tester import check_server

base_url, user, password = sys.argv[1:4]
client = SyncSCIMClient(Client(base_url=base_url, auth=(user, password), timeout=30))
for result in check_server(client):
    status = getattr(result.status, "name", result.status)
    tags = ",".join(sorted(getattr(result, "tags", []) or []))
    reason = (result.reason or "").replace("\n", " ")[:400]
    print(f"{status}\t{tags}\t{result.title}\t{reason}", flush=True)
