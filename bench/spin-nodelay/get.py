"""Small GETs on one keep-alive connection: python3 get.py PORT N [PATH]; prints p50/p90/p99."""
import http.client
import sys
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
path = sys.argv[3] if len(sys.argv) > 3 else "/small.txt"
connection = http.client.HTTPConnection("127.0.0.1", port)
times = []
for _ in range(n):
    start = time.perf_counter()
    connection.request("GET", path)
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 200, answer.status
    times.append((time.perf_counter() - start) * 1e3)
times.sort()
at = lambda q: times[min(len(times) - 1, int(q * len(times)))]
slow = sum(t > 20 for t in times)
print(f"{n} GETs: p50 {at(.5):.2f} ms, p90 {at(.9):.2f} ms, p99 {at(.99):.2f} ms; {slow} over 20 ms")
