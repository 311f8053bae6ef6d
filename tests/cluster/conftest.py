"""The region test (twelve processes, about 80 s on a quiet machine) runs on demand:
``bench/region_bench.py`` or ``TELECONSULT_TEST_REGION=1 pytest tests/cluster``: it needs
minutes and most of a 2-core machine (docs/deployment.md, «Known limits»)."""

import os

collect_ignore = [] if os.environ.get("TELECONSULT_TEST_REGION", "") in ("1", "true") else ["test_region.py"]
