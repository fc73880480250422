"""The device gateway (``ontrack gateway``): the servers devices connect to, and the writer
that stores what they send.

``process``: the gateway process, its workers and their supervision; ``core``: the writer,
the device directory and the hub every server hands its records to; ``tcp``, ``text``,
``http``, ``mqtt``: one server per transport (the decoders are in ``tracking.protocols``);
``spool``: where acknowledged batches wait while the database is away.
"""
