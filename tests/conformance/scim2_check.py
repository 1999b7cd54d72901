"""Runs scim2-tester against a running scim-otp API and prints one line per check.

Usage: python scim2_check.py BASE_URL USER PASSWORD
Exit status 0; the caller reads the lines (status, tags, title, reason) and decides.
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server



class SchemaAwareClient(SyncSCIMClient):
    """scim2-client finds the resource type of a model by the text after the schema URN's last
    colon. Soffid's URN, `urn:soffid:com.soffid.iam.addons.otp.common.OtpDevice`, ends in a dotted
    name, so the lookup also accepts the resource type whose `schema` is that whole URN."""

    def _find_resource_type(self, key):
        found = super()._find_resource_type(key)
        if found is None and isinstance(key, str):
            for resource_type in self.provider.resource_types:
                if str(resource_type.schema_).split(":")[-1].casefold() == key.casefold():
                    return resource_type
        return found


base_url, user, password = sys.argv[1:4]
client = SchemaAwareClient(Client(base_url=base_url, auth=(user, password), timeout=30))
for result in check_server(client):
    status = getattr(result.status, "name", result.status)
    tags = ",".join(sorted(getattr(result, "tags", []) or []))
    reason = (result.reason or "").replace("\n", " ")[:400]
    print(f"{status}\t{tags}\t{result.title}\t{reason}", flush=True)
