"""Creates the benchmark's TOTP tokens through privacyIDEA's own token library.

Reads lines of `serial,hexseed` from the file named by the first argument; every token is a
6-digit SHA-1 TOTP with a 30 s step, the same parameters the scim-otp devices get.
"""
import sys

from app import application
from privacyidea.lib.token import init_token

with application.app_context(), open(sys.argv[1]) as tokens:
    count = 0
    for line in tokens:
        serial, seed = line.strip().split(",")
        init_token({"type": "totp", "otpkey": seed, "serial": serial, "otplen": 6,
                    "hashlib": "sha1", "timeStep": 30})
        count += 1
    print(f"created {count} TOTP tokens")
