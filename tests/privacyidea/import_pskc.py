"""Reads a PSKC file with privacyIDEA's own importer (`privacyidea.lib.importotp.parsePSKCdata`,
what its token import and `/token/load` use) and writes as JSON the tokens it would create and
the serials it would not import. Arguments: the file, the pre-shared key in hex."""
import json
import sys

from privacyidea.lib.importotp import parsePSKCdata

with open(sys.argv[1]) as pskc:
    tokens, not_imported = parsePSKCdata(pskc.read(), preshared_key_hex=sys.argv[2])
json.dump({"tokens": tokens, "notImported": not_imported}, sys.stdout, default=str)
