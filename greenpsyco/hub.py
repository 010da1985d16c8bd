"""The hub greenlet that runs the Twisted reactor, ``wait()``/``sleep()`` for request greenlets, and the
rule that picks cooperative or blocking I/O. (Filled by the cooperative-mode issue; nothing here yet.)"""
