"""Each lab's own tests (labs/<id>/tests/) run in the kit's suite, with the kit's fixtures: a
fresh learner (`home`, `workshop`), the real engine (`engine`) and `leave_no_trace`."""

pytest_plugins = ["tests.kit.fixtures"]
