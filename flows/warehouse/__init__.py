"""The files of a warehouse: where they are, who may write them, and how a build becomes
the published file.

- ``paths``: the published file and its working-state folder, resolved once from the
  settings (``OPSKPI_WAREHOUSE``, ``OPSKPI_STATE_DIR``) for every command;
- ``lock``: one refresh of a warehouse at a time;
- ``private_build``: the copy of the working state a run writes into;
- ``history``: the run history and gate results of every run (blocked and failed ones
  included), kept in the state folder;
- ``audit``: the columns of ``audit.runs`` and ``audit.quality_results``;
- ``publish``: the verified, atomic replacement of the published file.
"""
