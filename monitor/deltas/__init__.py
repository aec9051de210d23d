"""The deltas stage: did an article change in a way an analyst cares about, and whose copy is it?

``diff`` owns text identity hashes, cosmetic normalisation, word diffs and the material-change
rule; ``cluster`` owns word shingles and the MinHash signatures that the store compares to
put wire copy of one story into one cluster. Pure functions: no I/O, no clock, no store.
"""
