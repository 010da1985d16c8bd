"""Applications the server tests serve: a Django project on the test cluster and plain WSGI apps."""
