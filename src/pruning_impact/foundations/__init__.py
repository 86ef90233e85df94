"""What every stage stands on: settings and options (``described``, ``settings``, ``options``, named by
``profiles``), the dense population's split (``dense_split``), the results store (``store``, written through
``folders``), how levels are written (``levels``), the top-k rule (``top_k``), where jobs run (``executor``,
``ray_executor``), the machine and provenance of results (``machine``, ``provenance``) and the package's
errors (``errors``). Nothing here imports a stage above it.
"""
