"""Self-checks for the exercises, one module per notebook: ``nb07`` holds notebook 07's checkers.

A notebook imports its own module under the short name its exercises use::

    from course_utils.checks import nb07 as check

    check.ex07_macro_f1(macro_f1, cm)

so that a learner who opens a checker finds only that notebook's exercises. What every checker
returns (:class:`~course_utils.checks.common.Feedback`) and the pieces they share live in
:mod:`course_utils.checks.common`. A checker module may import infrastructure and its notebook's
topic module; nothing outside ``checks`` imports a checker.
"""
