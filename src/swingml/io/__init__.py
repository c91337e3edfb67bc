"""The only code that touches a run directory.

``catalog`` names every dataset of a run (path pattern, format, writer, where its freshness key
lives); ``store`` writes atomically, fingerprints and locks on the local disk (``RunStore``);
``parted`` reads and writes tables split in column blocks; ``gcs`` is the ``gs://`` backend
(pull a run before a command, commit each stage's files after it, a lease for one writer);
``rundiff`` compares two run directories dataset by dataset.
"""
