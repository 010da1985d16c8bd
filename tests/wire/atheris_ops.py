"""Coverage-guided fuzzing of the backend-stream decoding with atheris (libFuzzer), run as a script:

    python -m tests.wire.atheris_ops -runs=N -artifact_prefix=DIR/ [CORPUS_DIR]

An input is one byte choosing the operation (startup, simple query, COPY out/in, extended query, or the
bare client state), one byte choosing the size of the reads, then the server's bytes. Anything but a
wire error is a crash that libFuzzer reports and saves. ``tests/wire/test_ops_fuzz.py`` runs it with a
bounded ``-runs`` and a corpus of recorded server streams (:func:`corpus_entry`).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["greenpsyco"]):
    from greenpsyco.wire.errors import WireError
    from greenpsyco.wire.protocol import ClientState
    from tests.wire.test_ops_fuzz import QUERIES, feed, startup_op

OPERATIONS = [startup_op("trust"), *QUERIES.values()]


def corpus_entry(operation: int, stream: bytes, split: int = 64) -> bytes:
    """An input that feeds ``stream`` to ``OPERATIONS[operation]`` in reads of ``split`` bytes."""
    return bytes([operation, split]) + stream


def one_input(data: bytes) -> None:
    if len(data) < 2:
        return
    which = data[0] % (len(OPERATIONS) + 1)
    split = data[1] % 64 + 1
    stream = data[2:]
    chunks = [stream[i : i + split] for i in range(0, len(stream), split)]
    if which == len(OPERATIONS):
        state = ClientState()
        try:
            for chunk in chunks:
                state.receive(chunk)
                while state.next_message() is not None:
                    pass
        except WireError:
            pass
        return
    feed(OPERATIONS[which](ClientState()), chunks)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
