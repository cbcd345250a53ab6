"""Scheduled work: what the dispatcher finds due and what a worker does with it (the Celery side is ``tasks/``).

:mod:`.registry` defines the kinds, :mod:`.dispatch` finds due work,
:mod:`.queue` hands it to the broker after commit and :mod:`.runner` does one
item exactly once. The kinds' modules hold the rules of each kind of work.
"""
