"""The collector pause the planning stages run under: off inside, back as it was after, errors included."""

import gc

import pytest

from netbox_pipeline.stages.gc_pause import gc_paused


@pytest.fixture(autouse=True)
def collector_on():
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_off_inside_and_on_again_after():
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_still_turns_the_collector_back_on():
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("a stage failed")
    assert gc.isenabled()


def test_a_nested_pause_leaves_it_off_until_the_outer_one_ends():
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off():
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_as_a_decorator_each_call_pauses_and_resumes():
    seen = []

    @gc_paused()
    def stage():
        seen.append(gc.isenabled())

    stage()
    stage()
    assert seen == [False, False] and gc.isenabled()


def test_pauses_overlapping_in_two_threads_keep_it_off_until_both_end():
    import threading

    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def reader():  # begins first, ends first: the collector must stay off for the other
        with gc_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    thread = threading.Thread(target=reader)
    thread.start()
    first_in.wait(5)
    with gc_paused():
        second_in.set()
        first_out.wait(5)
        seen["after the reader ended"] = gc.isenabled()
    thread.join(5)
    assert seen == {"after the reader ended": False} and gc.isenabled()
