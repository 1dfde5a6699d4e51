"""Every operation of specs/openapi.yaml, fuzzed by schemathesis: one test per operation.

Negative by default: invalid requests the gateway must refuse cleanly. ``--fuzz-positive``: valid requests
with tiny outputs, within ``--max-requests``. The checks are ``oimi_conformance.fuzz.checks``; findings land in
results.json as ``fuzz.*`` check results (see README, "Fuzzing").
"""

from oimi_conformance.fuzz.plugin import active_schema, run_case

schema = active_schema()


@schema.parametrize()
def test_fuzz(case, oimi_fuzz):
    run_case(oimi_fuzz, case)
