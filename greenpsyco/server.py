"""The Twisted WSGI server, one greenlet per request, and its command line.
(Filled by the server issue; nothing here yet.)"""
