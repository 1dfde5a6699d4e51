"""Property-based fuzzing of the gateway from ``specs/openapi.yaml`` with schemathesis.

* ``checks``   the schemathesis custom checks (``oimi_negative_is_4xx``, ``oimi_error_envelope``,
               ``oimi_json_content_type``, ``oimi_key_not_echoed``, ``oimi_body_conforms``), written with the
               harness's own validators; registered when the module is imported (``schemathesis.toml`` names it
               as its hooks module, so a plain ``schemathesis run`` uses them too).
* ``settings`` what a run generates: the schemathesis configuration (auth per security scheme, seed, modes,
               the models and the output-size pins), built from the options.
* ``session``  one fuzz run against one target: sends each generated case within the request budget, judges
               it, keeps the smallest failing request per finding, and writes ``results.json``.
* ``plugin``   the pytest side (``suites/fuzz``); ``oimi-conformance fuzz`` runs that suite.
"""
