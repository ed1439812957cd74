//! Integration tests of the reddalert binary.
