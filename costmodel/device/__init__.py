"""The device side: facts about the machine (``host``), timing statistics (``timing``), ``measure()``.

Nothing is imported here, so a module of this package that reads records only
(the coming device profile) does not load ``measure`` and the analysis under it.
"""
