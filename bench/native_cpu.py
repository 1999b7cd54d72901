"""CPU time per validation on the native host (`scim-otp-native`), for variants side by side.

Each variant is `label=BINARY` or `label=BINARY:SCRIPT.sql`: the native host binary (as
`cargo xtask bench` builds it, `bench-host/scim-otp-native`), and optionally SQL run on its
database after the devices are created and before the validations (to measure what a part of
the schema costs, e.g. a trigger dropped). Per round and variant: a fresh database, N TOTP devices
created through `POST /OtpDevice`, then one `responseChallenge` per device with a valid code and
one with a wrong code, one client, keep-alive. The host's CPU time (user + system, all threads,
from /proc) is read around the validations, so the client's own time is not in it.

    python bench/native_cpu.py --devices 1000 --rounds 5 before=/tmp/a/scim-otp-native main=...

Prints a Markdown table: the median over the rounds of the host's CPU milliseconds per
validation and of the client's p50 latency, with the spread of the CPU figure. Needs
`argon2-cffi` (the privacyIDEA virtualenv `cargo xtask bench` prepares has it). Loopback only.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import sqlite3
import statistics
import struct
import subprocess
import tempfile
import time

from argon2 import PasswordHasher

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU of every thread of `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def totp(key, at):
    mac = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def wrong(key, at):
    window = {totp(key, at + 30 * k) for k in range(-2, 3)}
    code = (int(totp(key, at)) + 500_000) % 1_000_000
    while "%06d" % code in window:
        code = (code + 1) % 1_000_000
    return "%06d" % code


def measure(binary, script, devices):
    """One round of one variant: (CPU ms per validation, p50 ms)."""
    with tempfile.TemporaryDirectory(prefix="native-cpu-") as state:
        password = secrets.token_hex(12)
        users = [{"user": "admin", "password_hash": PasswordHasher().hash(password), "rights": ["scim:admin"]}]
        env = dict(
            os.environ,
            SPIN_VARIABLE_SCIM_USERS=json.dumps(users),
            SPIN_VARIABLE_SECRET_KEY=base64.b64encode(os.urandom(32)).decode(),
        )
        db = os.path.join(state, "sqlite_db.db")
        host = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--db", db],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            port = int(re.search(r"127\.0\.0\.1:(\d+)", host.stdout.readline()).group(1))
            client = http.client.HTTPConnection("127.0.0.1", port)
            auth = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()

            def call(method, path, body=None):
                headers = {"authorization": auth, "content-type": "application/scim+json"}
                client.request(method, "/scim/v2" + path, json.dumps(body) if body else None, headers)
                answer = client.getresponse()
                return answer.status, answer.read()

            assert call("GET", "/OtpDevice?count=1")[0] == 200
            keys = []
            for i in range(devices):
                status, body = call("POST", "/OtpDevice", {"type": "TOTP", "user": f"n{i:05}"})
                device = json.loads(body)
                assert status == 201, body
                secret = re.search(r"secret=([A-Z2-7]+)", device["otpauthUri"]).group(1)
                keys.append((device["id"], base64.b32decode(secret + "=" * (-len(secret) % 8))))
            if script:
                # Closed before the validations: a connection left open would keep the WAL alive
                # between the host's connections, which Spin's one-connection-per-request does not.
                connection = sqlite3.connect(db)
                connection.executescript(open(script).read())
                connection.close()
            before, latencies = cpu_seconds(host.pid), []
            for code, success in ((totp, b'"success":true'), (wrong, b'"success":false')):
                for device, key in keys:
                    start = time.perf_counter()
                    status, body = call("POST", f"/OtpDevice/{device}/responseChallenge", {"pin": code(key, time.time())})
                    latencies.append(time.perf_counter() - start)
                    assert status == 200 and success in body, body
            spent = cpu_seconds(host.pid) - before
            return spent * 1000 / len(latencies), statistics.median(latencies) * 1000
        finally:
            host.kill()
            host.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("variants", nargs="+", help="label=BINARY or label=BINARY:SCRIPT.sql")
    args = parser.parse_args()
    variants = []
    for variant in args.variants:
        label, target = variant.split("=", 1)
        binary, _, script = target.partition(":")
        variants.append((label, binary, script or None))
    results = {label: [] for label, _, _ in variants}
    # Interleaved, so that a slow spell of a shared machine falls on every variant.
    for _ in range(args.rounds):
        for label, binary, script in variants:
            results[label].append(measure(binary, script, args.devices))
    print("| variant | host CPU per validation (median, min–max) | client p50 |")
    print("|---|---|---|")
    for label, runs in results.items():
        cpu = [r[0] for r in runs]
        p50 = statistics.median(r[1] for r in runs)
        print(f"| {label} | {statistics.median(cpu):.3f} ms ({min(cpu):.3f}–{max(cpu):.3f}) | {p50:.2f} ms |")


if __name__ == "__main__":
    main()
