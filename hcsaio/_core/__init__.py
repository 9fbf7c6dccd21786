"""hcsaio's runtime core: the dispatcher that turns bridge completion records
into awaitables, running one HCS operation under the cancellation contract,
waiters, the handle owner, deadlines, backend selection and diagnostics.

Nothing here knows an HCS area (compute, network, storage): the area packages
(``hcsaio.compute`` …) build on it, and it builds on ``hcsaio._native``.
"""
