-- wrk script: single-event durable appends of a DOMAIN.md AttemptSubmitted
-- event over 1,000 learner streams.
--   wrk -t1 -c64 -d8s --latency -s bench/http/wrk_append.lua http://127.0.0.1:8642
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  local s = counter % 1000
  return wrk.format(nil, "/v1/streams/learner-user-" .. s .. "/events", nil,
    '{"events":[{"type":"AttemptSubmitted","data":{"attemptId":"a-1","userId":"user-1","exerciseId":"ex-7","skillId":"skill-fractions","lessonId":"fractions-1","correct":true,"score":0.75,"durationMs":5300,"submittedAt":"2026-11-25T10:01:00Z"}}]}')
end
