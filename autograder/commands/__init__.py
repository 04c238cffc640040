"""The grader's commands, one module (or package) per subcommand of
``grade.py`` / ``nndl-grade``, each a ``main(**kwargs)`` over the core.

    grade       one submission            batch       a class
    gradescope  the Gradescope zip        selftest    check an installation
    calibrate   the accuracy tests        build       the students' notebooks
    config      every setting             adjust, extend, changes, export: the term

:mod:`autograder.cli` parses the command line and calls them. The core below
(``engine``, ``lab``, ``config``, ``results``, ``grading``, ``sandbox``,
``notebook``, ``questions``, ``reference``, ``batch``, ``term``, ``gradescope``)
never imports a command (test_layout.py checks it).
"""
