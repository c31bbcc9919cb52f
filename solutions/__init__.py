"""The reference implementation of every stage: the source the stubs in exercises/ are generated from.

Run the stage suites against it with `pytest --impl=solutions`.
"""
