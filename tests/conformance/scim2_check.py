"""Runs scim2-tester against a running scim-otp API and prints one line per check.

Usage: python scim2_check.py BASE_URL USER PASSWORD [RUN ...]
(the named runs only, when any are named).
Prints `status<TAB>run<TAB>tags<TAB>title<TAB>reason` per check and exits 0; the caller
(`tests/tests/conformance.rs`) decides which results are acceptable.

Run `discovery`: every discovery and misc check, against the server as it is.

Runs `TOTP`, `HOTP`, `EMAIL`, `SMS`, `PIN`: the CRUD and PATCH checks of OtpDevice, once per
device type. Run `User`: the CRUD and PATCH checks of User, against its schema as served.
Run `AuthenticatorPolicy`: those of AuthenticatorPolicy, viewed as a TOTP policy's schema (see
`POLICY_KIND`); its creates leave `id` out, so the service assigns the code.
Run `Authenticator`: those of Authenticator, viewed as an authenticator of a TOTP policy (see
`AUTHENTICATOR_OTHER_KINDS`); its devices, which root searches return too, as TOTP devices.
An OtpDevice's attributes depend on its type (an SMS device needs `phone`, a TOTP device may
not have one), which a SCIM schema cannot say, so the tester, filling attributes at random,
would mostly test the server's refusals. For each run this script shows the tester the
schema as it reads for that type: only the attributes that apply to the type, `email`, `phone`
or `pin` required where the type needs it, and `type` with that one canonical value. Values
the schema cannot describe (an address, a phone number, 6 or 8 digits; `status` C and `fails` 0
on a new device) come from `VALUES`. Requests pass through untouched; responses too, except for
the `id` below.

Three more adaptations, all for Soffid's dialect, in the typed runs:
- Its `id` is an integer (SPEC §2); scim2-models takes RFC 7643's string `id` for granted
  (it looks for "bulkId" inside it). The view shows ids as strings (`5` → `"5"`) and leaves
  `id` out of the schema, so the tester's own RFC 7643 `id` applies.
- scim2-client finds a resource type by the text after the schema URN's last colon; Soffid's
  URN ends in a dotted name, so the lookup also accepts the resource type's whole `schema`.
- Soffid's dialect adds `meta.links` (SPEC §2), which the `/Schemas` document lists under
  `meta` but cannot describe (RFC 7643 §2.3.8: no complex attribute inside a complex one).
  The typed views leave `meta` out, so the tester checks it with its own RFC 7643 §3.1 model,
  which here ignores extra members of `meta` (and nothing else).
"""

import json
import random
from datetime import datetime, timedelta, timezone
import sys
import uuid

from scim2_models import Meta
from scim2_models import Resource

# Before anything else derives from Resource (scim2-tester's own imports do).
Meta.model_config["extra"] = "ignore"
Meta.model_rebuild(force=True)
Resource.model_rebuild(force=True)

import httpx2  # noqa: E402
from scim2_client.engines.httpx2 import SyncSCIMClient  # noqa: E402
from scim2_tester import check_server  # noqa: E402
from scim2_tester import filling  # noqa: E402
from scim2_tester.checkers import patch_add  # noqa: E402
from scim2_tester.checkers import patch_replace  # noqa: E402

TYPES = ["TOTP", "HOTP", "EMAIL", "SMS", "PIN"]

# Which device types carry an attribute (SPEC §2, shared/src/schema.rs); others apply to all.
APPLIES_TO = {
    "email": {"EMAIL"},
    "phone": {"SMS"},
    "pin": {"PIN"},
    "algorithm": {"TOTP", "HOTP"},
    "digits": {"TOTP", "HOTP", "EMAIL", "SMS"},
    "period": {"TOTP"},
    "image": {"TOTP", "HOTP"},
    "otpauthUri": {"TOTP", "HOTP"},
}
REQUIRED_FOR = {"email": "EMAIL", "phone": "SMS", "pin": "PIN"}

def rfc3339(days_from_now):
    moment = datetime.now(timezone.utc) + timedelta(days=days_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# Valid values where the schema can say only "string" or "integer", by attribute name.
VALUES = {
    "user": lambda: f"scim2-tester-{uuid.uuid4().hex[:8]}",
    "email": lambda: f"t{uuid.uuid4().hex[:8]}@example.com",
    "phone": lambda: "+346" + "".join(random.choices("0123456789", k=8)),
    "pin": lambda: "".join(random.choices("0123456789", k=6)),
    "digits": lambda: random.choice([6, 8]),
    "period": lambda: random.choice([30, 60]),
    # The tester writes `status` and `fails` only on devices it has just created, and a new
    # device is C, with 0 failures, until a challenge succeeds (SPEC §5). Transitions and
    # counters are tested in tests/http_api.rs and edge-api's tests.
    "OtpDevice.status": lambda: "C",
    "OtpDevice.fails": lambda: 0,
    # AuthenticatorPolicy (SPEC §18): numbers in their ranges; never the default of its kind,
    # which could then be neither deleted nor unset (a 409 the CRUD checks would not expect).
    "maxFails": lambda: random.randint(1, 100),
    "validityDays": lambda: random.randint(0, 365),
    "maxUsages": lambda: random.randint(0, 1000),
    "default": lambda: False,
    # Authenticator: a new owner each, the TOTP policy, validity dates in order (a start after
    # the expiry is a 400 the CRUD checks would not expect).
    "Owner.display": lambda: f"scim2-tester-{uuid.uuid4().hex[:8]}",
    "Policy.value": lambda: "AT_CUSTOTP",
    "Status.startDate": lambda: rfc3339(-random.randint(0, 365)),
    "Status.expiryDate": lambda: rfc3339(random.randint(1, 365)),
}

# The run `AuthenticatorPolicy` views the schema as a TOTP policy's, as the device runs do for
# their types: `kind` takes one value, and the attributes of other kinds (`codeTtlSeconds`, the
# prompts) read as readOnly, so the tester never writes them and still reads them in listings,
# where the built-in policies of every kind show them.
POLICY_KIND = "TOTP"
POLICY_OTHER_KINDS = {"codeTtlSeconds", "prompts", "promptsRequiredForCreation", "promptsAskedAtValidation"}

# The run `Authenticator` views it as an authenticator of TOTP policy `AT_CUSTOTP` (SPEC §14)
# with a new owner named by `owner.display` (created with it): the create writes those two
# references and nothing else of them, and the credentials of other kinds (the Password and
# SecurityQuestion extensions) are left out of the view, as the device runs leave out the
# attributes of other types.
AUTHENTICATOR = "urn:hid:scim:api:idp:2.0:Authenticator"
AUTHENTICATOR_OTHER_KINDS = {"urn:hid:scim:api:idp:2.0:Password", "urn:hid:scim:api:idp:2.0:SecurityQuestion"}
AUTHENTICATOR_WRITTEN = {("owner", "display"), ("policy", "value")}


class TypeView(httpx2.BaseTransport):
    """Passes every request through; rewrites the OtpDevice schema in `/Schemas` responses
    to the view of one device type (see the module's documentation)."""

    def __init__(self, device_type):
        self.inner = httpx2.HTTPTransport()
        self.device_type = device_type

    def handle_request(self, request):
        response = self.inner.handle_request(request)
        if self.device_type is None or "json" not in response.headers.get("content-type", ""):
            return response
        response.read()
        document = json.loads(response.content)
        for resource in document.get("Resources", [document]):
            if isinstance(resource.get("id"), int):
                resource["id"] = str(resource["id"])
            elif resource.get("id", "").endswith("OtpDevice") and "attributes" in resource:
                self.narrow(resource)
            elif resource.get("id", "").endswith("AuthenticatorPolicy") and self.device_type == "policy":
                self.narrow_policy(resource)
            elif self.device_type == "authenticator" and "attributes" in resource:
                self.narrow_authenticator(resource)
            elif self.device_type == "authenticator" and resource.get("schema") == AUTHENTICATOR:
                resource["schemaExtensions"] = [
                    e for e in resource.get("schemaExtensions", []) if e["schema"] not in AUTHENTICATOR_OTHER_KINDS
                ]
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx2.Response(response.status_code, headers=headers, content=json.dumps(document))

    def narrow(self, schema):
        # A TOTP authenticator's device is a TOTP device, which root searches also return.
        t = "TOTP" if self.device_type == "authenticator" else self.device_type
        schema["attributes"] = [
            a
            for a in schema["attributes"]
            if t in APPLIES_TO.get(a["name"], {t}) and a["name"] not in ("id", "meta")
        ]
        for attribute in schema["attributes"]:
            if REQUIRED_FOR.get(attribute["name"]) == t:
                attribute["required"] = True
            if attribute["name"] == "type":
                attribute["canonicalValues"] = [t]


    def narrow_policy(self, schema):
        for attribute in schema.get("attributes", []):
            if attribute["name"] == "kind":
                attribute["canonicalValues"] = [POLICY_KIND]
            if attribute["name"] in POLICY_OTHER_KINDS:
                attribute["mutability"] = "readOnly"


    def narrow_authenticator(self, schema):
        """The Authenticator schema, viewed as an authenticator of a TOTP policy."""
        if schema.get("id") != AUTHENTICATOR:
            return
        schema["attributes"] = [a for a in schema["attributes"] if a["name"] not in AUTHENTICATOR_OTHER_KINDS]
        for attribute in schema["attributes"]:
            for sub in attribute.get("subAttributes", []):
                if (attribute["name"], sub["name"]) in AUTHENTICATOR_WRITTEN:
                    sub["required"] = True
                elif attribute["name"] in ("owner", "policy"):
                    sub["mutability"] = "readOnly"


class SchemaAwareClient(SyncSCIMClient):
    """Also finds a resource type by its whole schema URN (Soffid's ends in a dotted name)."""

    def _find_resource_type(self, key):
        found = super()._find_resource_type(key)
        if found is None and isinstance(key, str):
            for resource_type in self.provider.resource_types:
                if str(resource_type.schema_).split(":")[-1].casefold() == key.casefold():
                    return resource_type
        return found


def valid_value(context, path, mutability=None, required=None):
    """The tester's value generator, with `VALUES` for the attributes it would fill."""
    value = random_value(context, path, mutability, required)
    binding = path.resolve()
    if value is None or binding is None or binding.target_model.__name__ == "Meta":
        return value
    name = binding.target_field_name
    camel = "".join(w if i == 0 else w.title() for i, w in enumerate(name.split("_")))
    for key in (f"{binding.target_model.__name__}.{camel}", camel):
        if key in VALUES:
            return VALUES[key]()
    return value


random_value = filling.generate_random_value
for module in (filling, patch_add, patch_replace):
    module.generate_random_value = valid_value

base_url, user, password = sys.argv[1:4]
only = set(sys.argv[4:])
random.seed(7)
runs = (
    [("discovery", None, {"discovery", "misc"}, None)]
    + [(t, t, {"crud", "patch"}, ["OtpDevice"]) for t in TYPES]
    + [("User", None, {"crud", "patch"}, ["User"])]
    + [("AuthenticatorPolicy", "policy", {"crud", "patch"}, ["AuthenticatorPolicy"])]
    + [("Authenticator", "authenticator", {"crud", "patch"}, ["Authenticator"])]
)


def user_ids(http):
    """The ids of the store's users (a page of 1,000 holds every one of this script's)."""
    listing = http.get("/Users", params={"count": 1000, "attributes": "id"}).json()
    return {u["id"] for u in listing.get("Resources", [])}


admin = httpx2.Client(base_url=base_url, auth=(user, password), timeout=30)
users_before = user_ids(admin)
for run, device_type, tags, resource_types in runs:
    if only and run not in only:
        continue
    http = httpx2.Client(base_url=base_url, auth=(user, password), timeout=30, transport=TypeView(device_type))
    client = SchemaAwareClient(http)
    for result in check_server(client, include_tags=tags, resource_types=resource_types):
        result_tags = set(getattr(result, "tags", []) or [])
        if not any(t.split(":")[0] in tags for t in result_tags):
            continue  # discovery results of a typed run describe the rewritten schema
        status = getattr(result.status, "name", result.status)
        reason = (result.reason or "").replace("\n", " ").replace("\t", " ")[:400]
        print(f"{status}\t{run}\t{','.join(sorted(result_tags))}\t{result.title}\t{reason}", flush=True)
    # A device's owner is created with it (SPEC §17) and outlives it, with its authenticator.
    # The tester deletes what it created, so the owners go too: an unfiltered root `/.search`
    # of a later run then finds that run's resource on its first page of 100, as it expects.
    for leftover in user_ids(admin) - users_before:
        admin.delete(f"/Users/{leftover}")
