"""Training: the trainer and everything around it (configs, optimisers,
schedules, checkpoints, callbacks, devices and DDP).

Named `training`, not `train`, so that `aekit.train(...)`, the Python API's
function (aekit.api), is never shadowed by a subpackage of the same name.
"""
