"""What an operator reads in the Temporal Web UI's workflow list: each incident in one line (number, title,
status, the `IncidentSummary` column), and a list of incidents the sweep's runs do not bury."""

from __future__ import annotations

from settings import Timing
from tests.e2e.conftest import SandboxFactory, first_root, status_of, until
from tests.workflows.fakes import eventually
from workflows.search import INCIDENTS_QUERY, SUMMARY

CHANNEL = "C0PAYMENTS"


async def test_incident_list_reads_number_title_and_status_without_the_sweeps(
        make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(Timing(sweep_interval_seconds=1), sweep=True) as sb:
        assert sb.client is not None
        client, queue = sb.client, sb.settings.temporal_task_queue
        incident = sb.pd.trigger("PSVC001", "Card payments failing")
        message = await until(lambda: first_root(sb, CHANNEL), what="root message")
        status, body = await sb.slack.click(CHANNEL, message.ts, "pd_acknowledge", "U0ALICE")
        assert status == 200, body
        await until(lambda: status_of(message) == "acknowledged", what="acknowledged")
        number = sb.pd.incidents[incident].number
        mine = f'TaskQueue = "{queue}"'

        async def rows(query: str) -> list[tuple[str, str, str | None]]:
            return [(w.workflow_type or "", w.id, w.typed_search_attributes.get(SUMMARY))
                    async for w in client.list_workflows(f"{query} AND {mine}")]

        async def shown() -> bool:
            return (await rows(INCIDENTS_QUERY) == [
                ("IncidentWorkflow", f"pd-incident-{incident}", f"#{number} Card payments failing · acknowledged")])

        async def swept() -> bool:
            return len(await rows('WorkflowType = "SweepWorkflow"')) >= 2

        await eventually(shown, timeout=30, what="the incident's summary in the list")
        await eventually(swept, timeout=30, what="two sweeps")
        assert await shown()  # the sweep's runs are there, and not in the list of incidents
