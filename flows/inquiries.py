"""One inquiry or complaint (docs/product.md §5): its acknowledgement goes out, an operator answers
on a form in the Prefect UI (or ``madoguchi inquiry answer``), the answer goes out by email.

The operator's answer text is the one thing that passes through Prefect (as the form's
input); once stored in the app database it is deleted from Prefect, so Prefect keeps no
words that may name the person. The command line writes the answer straight to the app
database and only wakes the run. Autopilot does not answer inquiries: there is no proposal
to take. Re-entrant: an answered inquiry only delivers what is still in the outbox."""

from uuid import UUID

from prefect import flow
from prefect.input import RunInput
from prefect.runtime import flow_run

from flows.forms import simple_form
from flows.waits import ask, one_client
from models.settings import get_settings
from services import inquiries as service
from tasks.request import send_notices

# An empty answer is no answer: the run asks again. The command line stores the answer itself
# and wakes the run with no text.
InquiryAnswer = simple_form("InquiryAnswer", answer=(str, ""))


@flow(name="inquiry", flow_run_name="{reference}", log_prints=False)
@one_client
async def inquiry(reference: str) -> str:  # async: see flows/waits.py
    settings = get_settings()
    run = service.start_run(settings, reference, str(flow_run.id))
    if run.status == service.OPEN:
        send_notices()  # the acknowledgement, before the wait
    empty = 0  # answers without text so far; a replay meets them again in the same order
    while (status := service.status(settings, reference)) == service.OPEN:  # answered from the CLI?
        answer = await ask(InquiryAnswer, who="operator", key=f"answer-{empty}", description=run.markdown)
        text = answer.answer.strip() if answer is not None else ""
        if not text:
            empty += 1
            continue
        service.answered(settings, reference, text, actor=f"operator:{answer.actor}")
        _forget(answer)
    send_notices()
    return status


def _forget(answer: RunInput) -> None:
    """Delete the form's input from Prefect: the answer is in the app database now."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.delete_flow_run_input(flow_run_id=UUID(str(flow_run.id)), key=answer.metadata.key)
