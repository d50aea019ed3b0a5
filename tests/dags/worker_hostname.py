"""The host name a task instance records (``[core] hostname_callable``) for the Celery test, which runs
two workers on one machine: each worker's ``PARLEY_TEST_WORKER_HOSTNAME``, so the metadata database
tells which worker ran which task. Elsewhere the machine's name, as Airflow's default."""

from __future__ import annotations

import os
import socket


def worker_hostname() -> str:
    return os.environ.get("PARLEY_TEST_WORKER_HOSTNAME") or socket.getfqdn()
