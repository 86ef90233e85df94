"""Studies of PIEs beyond the statistics: a blinded annotation study (the paper's Section 3.2, Figure 5 and
Appendix 6.5), runnable by anyone, and an exemplar browser to look through the test set.

``sheet`` writes the page annotators open and its key; ``answers`` reads their CSV files back;
``agreement`` holds the study's statistics; ``machine_answers`` answers by a stated rule so the book has data
to show (not human data); ``stored_study`` ties these to a stored population; ``exemplar_browser`` writes
the static browser the book embeds; ``files`` names the templates and the browser's files.
"""
