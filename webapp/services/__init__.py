"""The service layer: every read and write the views, the API and the CLI need. No view touches SQL.

Modules: ``labs`` (packs and Lab rows), ``attendees``, ``validation`` (run a step, record it),
``attempts`` (history), ``progress`` (one attendee, one class), ``launch`` (signed student links),
``apikeys``, ``proctors``, ``jobs`` (background work), ``cache`` (Redis when configured).
Errors a caller can show are in ``errors``.
"""
