"""python-pskc, an independent PSKC implementation, on the other side of ours.

`write DIR`: writes one container per cipher, key source and MAC that SPEC §19 names, each
holding an HOTP and a TOTP key with known secrets, and prints what each was written with (the
pre-shared key in hex or the password) and what it holds, as JSON.
`read FILE PASSWORD`: reads a container we wrote and prints its keys as JSON.
`probe DIR`: reads every container under DIR (python-pskc's own test files: vendors' files,
drafts, broken ones) with each key and password its doctests use, and prints, per file, the
first that opens every secret and the keys as read, or that none did.
`bulk N PREFIX FILE SOURCE`: writes N random TOTP keys (serials PREFIX00000…) as privacyIDEA's
importer also reads them (AES-128-CBC, HMAC-SHA1), under a pre-shared key (SOURCE `psk`) or a
PBKDF2 password (`pbkdf2`, 100,000 rounds), without indentation, for the benchmark; prints the
key or password.
"""

import datetime
import json
import os
import sys

import pskc


def write(directory):
    cases = []
    ciphers = ["aes128-cbc", "aes192-cbc", "aes256-cbc", "kw-aes128", "kw-aes192", "kw-aes256"]
    macs = ["hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"]
    sources = ["psk", "pbkdf2-sha1", "pbkdf2-sha256"]
    n = 0
    for cipher in ciphers:
        for mac in macs:
            for source in sources:
                n += 1
                container = pskc.PSKC()
                hotp_secret = os.urandom(20)
                totp_secret = os.urandom(32)
                container.add_key(
                    id="h%d" % n, serial="PY-H-%d" % n, manufacturer="python-pskc", model="writer",
                    algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp", response_length=6,
                    response_encoding="DECIMAL", secret=hotp_secret, counter=40 + n,
                    key_userid="user%d" % n)
                container.add_key(
                    id="t%d" % n, serial="PY-T-%d" % n, algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp",
                    response_length=8, response_encoding="DECIMAL", secret=totp_secret, time_interval=60,
                    time_drift=-3, algorithm_suite="HMAC-SHA256",
                    expiry_date=datetime.datetime(2099, 1, 1, tzinfo=datetime.timezone.utc))
                case = {"file": "case%d.pskcxml" % n, "cipher": cipher, "mac": mac, "source": source,
                        "keys": [{"serial": "PY-H-%d" % n, "secret": hotp_secret.hex(), "counter": 40 + n},
                                 {"serial": "PY-T-%d" % n, "secret": totp_secret.hex(), "interval": 60}]}
                if source == "psk":
                    key = os.urandom({"128": 16, "192": 24, "256": 32}[cipher[-7:-4] if cipher.endswith("cbc") else cipher[-3:]])
                    container.encryption.setup_preshared_key(key=key, algorithm=cipher, key_name="vendor key")
                    case["preSharedKey"] = key.hex()
                else:
                    prf = "hmac-sha1" if source == "pbkdf2-sha1" else "hmac-sha256"
                    container.encryption.setup_pbkdf2("vendor password %d" % n, algorithm=cipher, prf=prf, iterations=2000)
                    case["password"] = "vendor password %d" % n
                container.mac.setup(algorithm=mac)
                container.write(os.path.join(directory, case["file"]))
                cases.append(case)
    print(json.dumps(cases))


def read(path, password):
    container = pskc.PSKC(path)
    container.encryption.derive_key(password)
    keys = []
    for key in container.keys:
        keys.append({
            "serial": key.serial, "secret": key.secret.hex(), "algorithm": key.algorithm,
            "suite": key.algorithm_suite, "digits": key.response_length, "counter": key.counter,
            "interval": key.time_interval, "drift": key.time_drift, "userid": key.userid,
            "manufacturer": key.manufacturer, "model": key.model,
            "expiry": (key.policy.expiry_date or key.expiry_date).isoformat() if (key.policy.expiry_date or key.expiry_date) else None,
        })
    # python-pskc checks MACs as it decrypts: reading every secret above did.
    print(json.dumps({"mac": container.mac.algorithm, "cipher": container.encryption.algorithm,
                      "prf": container.encryption.derivation.pbkdf2_prf, "keys": keys}))


def describe(key):
    return {"serial": key.serial, "secret": key.secret.hex() if key.secret is not None else None,
            "counter": key.counter, "interval": key.time_interval, "digits": key.response_length,
            "manufacturer": key.manufacturer, "algorithm": key.algorithm}


def probe(directory):
    import glob
    import re
    doctests = "".join(open(f).read() for f in glob.glob(os.path.join(directory, "*.doctest")))
    keys = sorted(set(re.findall(r"key = a2b_hex\('([0-9a-fA-F]+)'\)", doctests)))
    passwords = sorted(set(re.findall(r"derive_key\(b?'([^']+)'\)", doctests)))
    candidates = [{}] + [{"preSharedKey": k} for k in keys] + [{"password": p} for p in passwords]
    results = []
    files = [f for f in sorted(glob.glob(os.path.join(directory, "*", "*")))
             if os.path.splitext(f)[1] in (".pskcxml", ".xml", ".pskc", ".txt")]
    for path in files:
        found = {"file": os.path.relpath(path, directory)}
        for unlock in candidates:
            try:
                container = pskc.PSKC(path)
                if "preSharedKey" in unlock:
                    container.encryption.key = bytes.fromhex(unlock["preSharedKey"])
                elif "password" in unlock:
                    container.encryption.derive_key(unlock["password"])
                described = [describe(k) for k in container.keys]
            except Exception as e:
                found["error"] = "%s: %s" % (type(e).__name__, e)
                continue
            if described and all(k["secret"] is not None for k in described) or (described and not unlock):
                found.pop("error", None)
                found["unlock"], found["keys"] = unlock, described
                break
        results.append(found)
    print(json.dumps(results))


def bulk(count, prefix, path, source):
    container = pskc.PSKC()
    for n in range(count):
        container.add_key(
            id="%s%05d" % (prefix, n), serial="%s%05d" % (prefix, n),
            algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp", response_length=6,
            response_encoding="DECIMAL", secret=os.urandom(20), time_interval=30)
    if source == "psk":
        key = os.urandom(16)
        container.encryption.setup_preshared_key(key=key, algorithm="aes128-cbc")
        unlock = {"preSharedKey": key.hex()}
    else:
        unlock = {"password": "a benchmark password"}
        container.encryption.setup_pbkdf2(unlock["password"], algorithm="aes128-cbc", iterations=100000)
    container.mac.setup(algorithm="hmac-sha1")
    container.write(path)
    # Without python-pskc's indentation (whitespace between elements means nothing in PSKC), so
    # that 10,000 keys fit in the 8 MiB an import takes.
    import re
    with open(path) as written:
        compact = re.sub(r">\s+<", "><", written.read())
    with open(path, "w") as rewritten:
        rewritten.write(compact)
    print(json.dumps(unlock))


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    elif sys.argv[1] == "probe":
        probe(sys.argv[2])
    elif sys.argv[1] == "bulk":
        bulk(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        read(sys.argv[2], sys.argv[3])
