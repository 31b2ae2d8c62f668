"""The use cases that change state: the only place a write transaction opens.

Routes, the socket session, jobs and commands decide who may do what and how
to answer; what is written, in which transaction, with which events, is
decided here once, whoever asks. A database that cannot serve now leaves here
as `StoreUnavailable` (app/ingest/transaction.py), so every caller answers it
the same way: 503 over HTTP, UNAVAILABLE over the socket.
"""
