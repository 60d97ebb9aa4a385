#!/usr/bin/env python3
"""Appends TOTAL DOMAIN.md events in 1,000-event requests over one keep-alive
connection: python3 bench/http/fill_batches.py PORT TOTAL. A quick way to
fill a store; throughput figures come from tools/loadgen."""
import http.client, json, sys, time
port, total = int(sys.argv[1]), int(sys.argv[2])
batch = 1000
c = http.client.HTTPConnection("127.0.0.1", port)
ev = {"type": "AttemptSubmitted", "data": {"attemptId": "a-1", "userId": "user-1", "exerciseId": "ex-7", "skillId": "skill-fractions", "lessonId": "fractions-1", "correct": True, "score": 0.75, "durationMs": 5300, "submittedAt": "2026-11-25T10:01:00Z"}, "metadata": {"userId": "user-1"}}
body = json.dumps({"events": [ev] * batch})
t = time.time()
for i in range(total // batch):
    c.request("POST", "/v1/streams/learner-user-%d/events" % (i % 1000), body, {"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    assert r.status == 201, r.status
dt = time.time() - t
print("filled %d events in %.1fs: %.0f events/s" % (total, dt, total / dt))
