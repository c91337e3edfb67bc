"""Vertex AI deployment: profile checks, the compiled Kubeflow pipelines and their job requests.

Only ``compile`` and ``submit`` import ``kfp`` and ``google.cloud.aiplatform`` (the ``vertex``
extra), inside functions, so the rest of swingml runs without them.
"""
