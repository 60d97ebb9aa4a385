#!/usr/bin/python3
"""Holds read-model subscriptions open on a cairnd, as the learning app's
open dashboards would: N WebSockets, each subscribed to the dashboard of
user-0 .. user-(N-1) (the users of cairn-compare's --streams), reading
every frame, until SIGTERM or SIGINT; then prints the read-model frames
received. For bench/compare/threads.sh (READ_MODEL_SUBSCRIBERS=N).

    /usr/bin/python3 bench/compare/read_model_subscribers.py HOST:PORT N

Needs Debian's python3-websocket (websocket-client), hence /usr/bin/python3.
"""
import json
import signal
import sys
import threading

import websocket


def main():
    target, count = sys.argv[1], int(sys.argv[2])
    stop = threading.Event()
    frames = [0] * count
    ready = threading.Barrier(count + 1)

    errors = []

    def follow(i):
        # Dev mode: the tenant cairn-compare writes to (its --tenant).
        try:
            ws = websocket.create_connection(f"ws://{target}/v1/ws", timeout=1,
                                             header=["X-Cairn-Tenant: compare"])
        except (OSError, websocket.WebSocketException) as e:  # others go on
            errors.append(f"user-{i}: {e}")
            ready.wait()
            return
        ws.send(json.dumps({"op": "subscribe", "id": f"d{i}",
                            "readModel": {"name": "dashboard", "key": f"user-{i}"}}))
        subscribed = False
        while not stop.is_set():
            try:
                frame = json.loads(ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            if frame.get("op") == "read-model":
                frames[i] += 1
                if not subscribed:  # the current document: in place
                    subscribed = True
                    ready.wait()
            elif frame.get("op") == "error":
                errors.append(frame)
                stop.set()
                if not subscribed:
                    ready.wait()
                break
        ws.close()

    threads = [threading.Thread(target=follow, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    ready.wait()
    if errors:
        sys.exit(f"errors: {errors[:3]}")
    print("subscribed", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.2):
        pass
    for t in threads:
        t.join()
    # The first frame of each is the document as it was when subscribing.
    print(f"read-model frames: {sum(frames) - count} pushed to {count} subscriptions"
          + (f"; error frames: {errors[:3]}" if errors else ""))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
