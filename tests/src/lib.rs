//! Conformance support: the reproducible corpus generator and helpers shared by the tests.
