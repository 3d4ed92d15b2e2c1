"""Each lab's wrong solutions for the lab test suite, ``CASES`` in ``labNN.py``."""
