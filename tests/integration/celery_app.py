"""The Celery application the Celery tests run: broker and result backend
both on Parley (PARLEY_URL), tasks routed to named queues."""
import os
import time

import redis
from celery import Celery

URL = os.environ.get("PARLEY_URL", "redis://127.0.0.1:6379/0")

app = Celery("parley_test", broker=URL, backend=URL)
# "sentinel://host:port;sentinel://host:port;...": find the leader through
# the SENTINEL queries every Parley node answers.
SENTINEL = {"master_name": "mymaster"} if URL.startswith("sentinel://") else {}
app.conf.update(
    task_routes={
        "celery_app.add": {"queue": "math.add"},
        "celery_app.multiply": {"queue": "math.mul"},
    },
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    result_expires=3600,
    broker_transport_options={"visibility_timeout": 30, **SENTINEL},
    result_backend_transport_options={"visibility_timeout": 30, **SENTINEL},
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_send_sent_event=True,
    worker_send_task_events=True,
)


@app.task
def add(x, y):
    return x + y


@app.task
def multiply(x, y):
    return x * y


@app.task
def tsum(numbers):
    return sum(numbers)


@app.task(bind=True, max_retries=5, default_retry_delay=0.2)
def flaky(self, key, failures):
    """Fails `failures` times (counted in Parley), then succeeds."""
    r = redis.Redis.from_url(URL)
    attempt = r.incr(key)
    if attempt <= failures:
        raise self.retry(exc=RuntimeError(f"attempt {attempt} fails on purpose"))
    return attempt


@app.task
def sleepy(seconds):
    time.sleep(seconds)
    return seconds
