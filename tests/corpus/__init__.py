"""Generated test corpora (hostile and broken inputs), shared by the unit and end-to-end suites."""
