"""Enrols OATH tokens in a real privacyIDEA and exports them with privacyIDEA's own PSKC export.

Run with the privacyIDEA virtualenv's Python and PRIVACYIDEA_CONFIGFILE set (a SQLite database
in a temporary directory). Reads a JSON list of tokens from stdin (serial, type, hex key,
digits, hash, time step, seconds its clock is behind, how many codes privacyIDEA accepts before the
export); writes JSON:
the pre-shared key, the PSKC document, and for each token the codes privacyIDEA accepted before
the export and those it would accept next, computed by privacyIDEA's own token classes.
"""
import datetime
import json
import os
import sys

from privacyidea.app import create_app
from privacyidea.lib.importotp import export_pskc
from privacyidea.lib.token import get_one_token, init_token
from privacyidea.models import db

app = create_app(config_name="production", config_file=os.environ["PRIVACYIDEA_CONFIGFILE"], silent=True)

with app.app_context():
    db.create_all()
    wanted = json.load(sys.stdin)
    tokens = []
    used = {}
    for t in wanted:
        params = {"type": t["type"], "otpkey": t["key"], "serial": t["serial"], "otplen": t["digits"],
                  "hashlib": t["hash"], "description": t["description"]}
        if t["type"] == "totp":
            params["timeStep"] = t["step"]
        token = init_token(params)
        if t.get("behind"):
            # A token whose clock is `behind` seconds late, resynced in privacyIDEA with two
            # consecutive codes: privacyIDEA learns its clock drift (`timeShift`, in seconds).
            late = datetime.datetime.now() - datetime.timedelta(seconds=t["behind"])
            codes = [token.get_otp(current_time=late + datetime.timedelta(seconds=s * t["step"]))[2]
                     for s in (0, 1)]
            assert token.resync(*codes), codes
        # Codes accepted before the export move the HOTP counter on.
        used[t["serial"]] = []
        for _ in range(t["used"]):
            code = token.get_otp()[2]
            assert token.check_otp(code) >= 0, code
            used[t["serial"]].append(code)
        tokens.append(token)
    psk, count, soup = export_pskc(tokens)
    assert count == len(tokens), count
    after = {}
    for t in wanted:
        token = get_one_token(serial=t["serial"])
        # The next codes privacyIDEA would accept: HOTP from its counter on (it takes the counter
        # itself); TOTP the first two steps after the last it took (it takes no step at or before
        # it), and the code the token itself shows now, its clock `behind`.
        if t["type"] == "hotp":
            after[t["serial"]] = token.get_multi_otp(count=3)[2]["otp"]
        else:
            step, shift, last = t["step"], token.timeshift, token.get_otp_count()
            at = lambda counter: datetime.datetime.fromtimestamp(counter * step - shift + step / 2)
            now = datetime.datetime.now() - datetime.timedelta(seconds=t.get("behind", 0) + shift)
            after[t["serial"]] = {"accepted": [token.get_otp(current_time=at(last + n))[2] for n in (1, 2)],
                                  "shown": token.get_otp(current_time=now)[2], "shift": shift}
    json.dump({"psk": psk, "pskc": str(soup), "used": used, "next": after}, sys.stdout)
