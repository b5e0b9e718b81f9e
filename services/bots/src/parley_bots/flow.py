"""A chatbot's steps as a flow: checking the graph and walking it."""

from __future__ import annotations

from typing import Any

from parley_bots.errors import InvalidChatbotSteps
from parley_bots.schemas import END, HANDOVER, Step

RESERVED = (HANDOVER, END)


def validate_steps(steps: list[Step]) -> None:
    """Every id unique, every button leads somewhere, every step reachable from the first."""
    ids: set[str] = set()
    for step in steps:
        if step.id in RESERVED:
            raise InvalidChatbotSteps(f'"{step.id}" is reserved and cannot be a step id.')
        if step.id in ids:
            raise InvalidChatbotSteps(f'Two steps have the id "{step.id}".')
        ids.add(step.id)
    for step in steps:
        labels: set[str] = set()
        for button in step.buttons:
            label = button.label.strip().casefold()
            if not label:
                raise InvalidChatbotSteps(f'Step "{step.id}" has a button with a blank label.')
            if label in labels:
                raise InvalidChatbotSteps(
                    f'Step "{step.id}" has two buttons labelled "{button.label}".'
                )
            labels.add(label)
            if button.next not in ids and button.next not in RESERVED:
                raise InvalidChatbotSteps(
                    f'Button "{button.label}" of step "{step.id}" leads to "{button.next}", '
                    'which is not a step id, "handover" or "end".'
                )
    by_id = {step.id: step for step in steps}
    reached = {steps[0].id}
    todo = [steps[0].id]
    while todo:
        for button in by_id[todo.pop()].buttons:
            if button.next in by_id and button.next not in reached:
                reached.add(button.next)
                todo.append(button.next)
    unreachable = [step.id for step in steps if step.id not in reached]
    if unreachable:
        raise InvalidChatbotSteps(
            f"No button leads to these steps: {', '.join(unreachable)}.", unreachable=unreachable
        )


def step_by_id(steps: list[dict[str, Any]], step_id: str | None) -> dict[str, Any] | None:
    return next((step for step in steps if step["id"] == step_id), None)


def matching_button(step: dict[str, Any], text: str) -> dict[str, Any] | None:
    """The quick reply the visitor chose: its label, ignoring case and outer spaces."""
    wanted = " ".join(text.split()).casefold()
    for button in step.get("buttons", []):
        if " ".join(str(button["label"]).split()).casefold() == wanted:
            return dict(button)
    return None


def quick_replies(step: dict[str, Any]) -> list[str]:
    return [str(button["label"]) for button in step.get("buttons", [])]
