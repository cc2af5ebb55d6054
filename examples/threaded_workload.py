"""A threaded workload recorded into demo_threads.pvrec (the recorder's example): a pool of workers
hashing and parsing, a thread waiting on a queue, and the main thread computing.

Regenerate (sampled stacks and the same run's exact cProfile numbers in one file):
    PYTHONPATH=python python3 -m profview record --cprofile -o examples/demo_threads.pvrec examples/threaded_workload.py
"""
import hashlib
import json
import queue
import threading
import time


def digest(blob, rounds):
    for _ in range(rounds):
        blob = hashlib.sha256(blob).digest()
    return blob


def parse_records(n):
    return [json.loads(json.dumps({"id": i, "tags": ["a", "b", str(i)]})) for i in range(n)]


def worker(jobs, results):
    while True:
        job = jobs.get()
        if job is None:
            return
        results.put((digest(job.to_bytes(8, "little"), 2000), len(parse_records(300))))


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def waiter(stop):
    while not stop.wait(0.05):
        pass


def main():
    jobs, results, stop = queue.Queue(), queue.Queue(), threading.Event()
    pool = [threading.Thread(target=worker, args=(jobs, results), name=f"worker-{i}") for i in range(3)]
    idle = threading.Thread(target=waiter, args=(stop,), name="heartbeat")
    for t in pool + [idle]:
        t.start()
    for i in range(240):
        jobs.put(i)
    for _ in pool:
        jobs.put(None)
    total = sum(fib(21) for _ in range(6))
    for t in pool:
        t.join()
    stop.set()
    idle.join()
    time.sleep(0.1)
    print(total, results.qsize())


if __name__ == "__main__":
    main()
