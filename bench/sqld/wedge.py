"""Concurrent autocommit writers over Hrana HTTP against one sqld; reports every 5 s how many
writes went through and when the last one did. On sqld 0.24.33 the writes stop for good within
a minute at 32 clients (see README.md beside this file); with the patch they do not.

    python3 wedge.py http://127.0.0.1:PORT [CLIENTS] [SECONDS]
"""
import json, sys, threading, time, urllib.request

url, clients, seconds = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 32, int(sys.argv[3]) if len(sys.argv) > 3 else 120

def pipeline(requests, timeout=30):
    body = json.dumps({"baton": None, "requests": requests}).encode()
    req = urllib.request.Request(url + "/v2/pipeline", body, {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())

pipeline([{"type": "execute", "stmt": {"sql": "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, n INTEGER, pad BLOB)"}},
          {"type": "execute", "stmt": {"sql": "CREATE INDEX IF NOT EXISTS t_n ON t (n)"}},
          {"type": "execute", "stmt": {"sql": "INSERT OR IGNORE INTO t SELECT value, 0, randomblob(600) FROM generate_series(1, 1000)"}},
          {"type": "close"}])
done, errors, hung, last = [0], {}, [0], [time.time()]
lock = threading.Lock()
stop = time.time() + seconds

def client(k):
    i = 0
    while time.time() < stop:
        i += 1
        row = (k * 7919 + i) % 1000 + 1
        try:
            out = pipeline([{"type": "execute", "stmt": {"sql": "UPDATE t SET n = n + 1, pad = randomblob(600) WHERE id = ?",
                                                         "args": [{"type": "integer", "value": str(row)}]}},
                            {"type": "close"}])
            res = out["results"][0]
            with lock:
                if res["type"] == "ok":
                    done[0] += 1; last[0] = time.time()
                else:
                    msg = res["error"]["message"][:80]; errors[msg] = errors.get(msg, 0) + 1
        except Exception as e:
            with lock:
                hung[0] += 1; errors[type(e).__name__ + ": " + str(e)[:60]] = errors.get(type(e).__name__ + ": " + str(e)[:60], 0) + 1

threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
[t.start() for t in threads]
start = time.time()
while time.time() < stop:
    time.sleep(5)
    with lock:
        print(f"{time.time() - start:5.0f} s: {done[0]} writes, last {time.time() - last[0]:.1f} s ago, errors {errors}", flush=True)
