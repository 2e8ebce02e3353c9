"""A forensics unit's queue: ``devicex queue submit/status/cancel`` and ``devicex worker``, on
Celery with a Redis broker (see ``docs/queue.md``). A job is an ordinary extraction
(:mod:`pipelines.extract`) run by whichever worker takes it, most urgent first."""
