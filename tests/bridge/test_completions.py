"""Completions: none lost, none doubled, batched wake-ups, results and errors."""

from __future__ import annotations

import anyio
import pytest

from hcsaio._core import _operation
from hcsaio._core._dispatch import current_dispatcher
from hcsaio._native import queue as native_queue
from hcsaio.errors import ExportNotFound, InvalidState, LibraryNotFound

from .conftest import settle

pytestmark = pytest.mark.anyio


async def _run_burst(fake, count: int) -> tuple[list[int], int]:
    """Start `count` held operations, release them to the fake's 8 worker
    threads at once, and collect every result."""
    from hcsaio._core import _hcs_system as native_system

    system = await fake.create_system()
    dispatcher = current_dispatcher()
    results: list[int] = []

    async def one() -> None:
        done = await _operation.run(
            fake.library, "HcsStartComputeSystem", fake.start(system, "hold")
        )
        results.append(done.hresult)

    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(one)
        with anyio.fail_after(120):
            while len(dispatcher.pending) < count:
                await anyio.sleep(0.001)
        fired_before = fake.control.fake_completions_fired()
        assert fake.control.fake_release() == count
    native_system.close(fake.library.index, system)
    return results, fake.control.fake_completions_fired() - fired_before


@pytest.mark.slow
async def test_100k_completions_from_8_threads_none_lost_or_doubled(fake) -> None:
    before = fake.live()
    dispatcher = current_dispatcher()
    results, fired = await _run_burst(fake, 100_000)
    assert len(results) == 100_000
    assert set(results) == {0}
    assert fired == 100_000
    stats = dispatcher.stats()
    assert stats["waiters"] == 0 and stats["orphans"] == 0
    assert dispatcher.unmatched == 0  # a doubled completion would land here
    await settle(fake, before)


async def test_burst_costs_few_wakeups(fake) -> None:
    dispatcher = current_dispatcher()
    wakes_before = dispatcher.stats()["wakes"]
    drains_before = dispatcher.stats()["drains"]
    await _run_burst(fake, 10_000)
    stats = dispatcher.stats()
    wakes = stats["wakes"] - wakes_before
    drains = stats["drains"] - drains_before
    # One wake per batch, never one per completion: the loop drains while
    # the 8 threads are still pushing, so a few batches are normal.
    assert wakes <= drains + 1
    assert wakes < 200, f"{wakes} wake-ups for 10,000 completions"


async def test_result_document_and_hresult_reach_the_awaiter(fake) -> None:
    system = await fake.create_system()
    done = await _operation.run(
        fake.library, "HcsStartComputeSystem", fake.start(system, 'delay_us=100;doc={"Answer":42}')
    )
    assert done.hresult == 0
    assert done.document == b'{"Answer":42}'


async def test_unicode_document_survives_utf16_to_utf8(fake) -> None:
    system = await fake.create_system()
    text = '{"Name":"caf\u00e9 \u2603 \U0001f600"}'
    done = await _operation.run(
        fake.library, "HcsStartComputeSystem", fake.start(system, "doc=" + text)
    )
    assert done.document.decode("utf-8") == text


async def test_failed_operation_raises_mapped_error_with_result_error(fake) -> None:
    system = await fake.create_system()
    doc = '{"Error":-2143878907,"ErrorMessage":"not now","ErrorEvents":[{"Message":"because"}]}'
    with pytest.raises(InvalidState) as info:
        await _operation.run(
            fake.library,
            "HcsStartComputeSystem",
            fake.start(system, "hr=0x80370105;doc=" + doc),
            id="fake",
            check=True,
        )
    err = info.value
    assert err.hresult == 0x80370105
    assert err.operation == "HcsStartComputeSystem"
    assert err.message == "not now"
    assert [e.message for e in err.error_events] == ["because"]
    assert "compute system 'fake'" in str(err)


async def test_synchronous_failure_raises_and_leaks_nothing(fake) -> None:
    before = fake.live()
    system = await fake.create_system()
    with pytest.raises(InvalidState):
        await _operation.run(
            fake.library, "HcsStartComputeSystem", fake.start(system, "fail=0x80370105"), check=True
        )
    from hcsaio._core import _hcs_system as native_system

    native_system.close(fake.library.index, system)
    assert current_dispatcher().stats()["waiters"] == 0
    await settle(fake, before)


async def test_completion_before_the_call_returns(fake) -> None:
    system = await fake.create_system()
    for _ in range(200):
        done = await _operation.run(
            fake.library, "HcsStartComputeSystem", fake.start(system, "sync")
        )
        assert done.hresult == 0


async def test_out_of_order_completions_reach_the_right_awaiters(fake) -> None:
    system = await fake.create_system()
    order: list[int] = []

    async def one(i: int) -> None:
        delay = (50 - i) * 400  # later-started ones finish first
        done = await _operation.run(
            fake.library, "HcsStartComputeSystem", fake.start(system, f"delay_us={delay};doc={i}")
        )
        assert done.document == str(i).encode()
        order.append(i)

    async with anyio.create_task_group() as tg:
        for i in range(50):
            tg.start_soon(one, i)
    assert sorted(order) == list(range(50))
    assert order != list(range(50))


async def test_missing_export_raises_export_not_found_naming_it(fake) -> None:
    from hcsaio._core import _hcs_system as native_system

    assert not fake.library.has("HcsPauseComputeSystem")
    system = await fake.create_system()
    with pytest.raises(ExportNotFound) as info:
        await _operation.run(
            fake.library,
            "HcsPauseComputeSystem",
            lambda op: native_system.call(
                "HcsPauseComputeSystem", fake.library.index, system, op, None, id="fake"
            ),
            check=True,
        )
    assert info.value.hresult == 0x8007007F
    assert "HcsPauseComputeSystem" in str(info.value)


def test_missing_library_raises_library_not_found(tmp_path) -> None:
    from hcsaio._core._backend import load_library

    with pytest.raises(LibraryNotFound) as info:
        load_library(str(tmp_path / "computecore-missing.so"))
    assert "computecore-missing.so" in str(info.value)


async def test_bridge_documents_are_all_freed(fake) -> None:
    system = await fake.create_system()
    for i in range(500):
        await _operation.run(fake.library, "HcsStartComputeSystem", fake.start(system, f"doc={i}"))
    assert native_queue.global_stats().docs_outstanding == 0
