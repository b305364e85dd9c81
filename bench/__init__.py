"""The benchmark harness of issue 5: the service against a raw baseline, same run."""
