"""Cross-event rules of the stream grammars, each named in ``specs/grammars/*.yaml``.

A rule sees every event of one stream (``on_event``) and speaks again at the end
(``finish``). Its parameters come from the grammar file, so the same rule serves several
protocols. Rule ids are public: they appear in reports as ``stream.<id>``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any, ClassVar

from .violations import Violation

if TYPE_CHECKING:
    from .grammar import Grammar, JudgedEvent

RULES: dict[str, type[StreamRule]] = {}


def _register(cls: type[StreamRule]) -> type[StreamRule]:
    if cls.name in RULES:
        raise RuntimeError(f"stream rule {cls.name!r} registered twice")
    RULES[cls.name] = cls
    return cls


def _get(data: Any, path: tuple[str, ...]) -> Any:
    """Read a dotted path, split once (``("response", "id")``), from parsed JSON; ``None`` when absent."""
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


class StreamRule:
    """Base of the cross-event rules."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    #: The only event types ``on_event`` can act on (None: any). The judge calls ``on_event`` for
    #: these alone, so a rule pays nothing for the events it ignores.
    EVENT_TYPES: ClassVar[frozenset[str] | None] = None

    def __init__(self, grammar: Grammar, spec: dict[str, Any], request: dict[str, Any]) -> None:
        self.grammar = grammar
        self.spec = spec
        self.request = request
        self.types = frozenset(spec.get("types", ())) or None  # which event types it looks at

    def applies(self, event: JudgedEvent) -> bool:
        return self.types is None or event.type in self.types

    def listens_to(self, event_type: str) -> bool:
        """False when ``on_event`` would surely ignore an event of this type (no finding, no state change)."""
        return self.EVENT_TYPES is None or event_type in self.EVENT_TYPES

    def violation(self, message: str, index: int | None = None) -> Violation:
        pointer = f"/events/{index}" if index is not None else ""
        return Violation(f"stream.{self.name}", message, pointer, f"{self.grammar.file}#/rules")

    def on_event(self, event: JudgedEvent) -> list[Violation]:
        return []

    def finish(self) -> list[Violation]:
        return []


@_register
class ConstantField(StreamRule):
    """Every event of the listed types carries the same value at ``path`` (e.g. one ``id`` per stream)."""

    name = "constant-field"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.path: str = self.spec["path"]
        self.parts = tuple(self.path.split("."))
        self.first: Any = None
        self.reported = False

    def listens_to(self, event_type: str) -> bool:
        return self.types is None or event_type in self.types

    def on_event(self, event: JudgedEvent) -> list[Violation]:
        if not self.applies(event) or self.reported:
            return []
        value = _get(event.data, self.parts)
        if value is None:
            return []
        if self.first is None:
            self.first = value
        elif value != self.first:
            self.reported = True
            return [self.violation(f"{self.path} changed within one stream: {self.first!r} then {value!r}",
                                   event.index)]
        return []


@_register
class StrictlyIncreasing(StreamRule):
    """An integer field (``sequence_number``) grows with every event."""

    name = "strictly-increasing"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.path: str = self.spec["path"]
        self.parts = tuple(self.path.split("."))
        self.last: int | None = None

    def listens_to(self, event_type: str) -> bool:
        return self.types is None or event_type in self.types

    def on_event(self, event: JudgedEvent) -> list[Violation]:
        if not self.applies(event):
            return []
        value = _get(event.data, self.parts)
        if not isinstance(value, int) or isinstance(value, bool):
            return []  # the event schema reports a missing or mistyped field
        found = []
        if self.last is not None and value <= self.last:
            found.append(self.violation(f"{self.path} {value} does not increase on the previous {self.last}",
                                        event.index))
        self.last = value
        return found


@_register
class ChatChoices(StreamRule):
    """OpenAI chat chunks: one role per choice, a finish_reason on each choice's last content chunk,
    no content after it, and (when the request asked) a final usage chunk with empty ``choices``."""

    name = "chat-choices"
    EVENT_TYPES = frozenset({"chunk"})

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.roles: dict[int, int] = defaultdict(int)
        self.finished: dict[int, int] = {}
        self.seen: set[int] = set()
        self.usage_chunk: int | None = None
        self.last_choices_chunk: int | None = None
        self.late_usage = False
        self.reported_role: set[int] = set()

    def on_event(self, event: JudgedEvent) -> list[Violation]:
        if event.type != "chunk" or not isinstance(event.data, dict):
            return []
        choices = event.data.get("choices")
        found: list[Violation] = []
        if choices == [] and event.data.get("usage"):
            self.usage_chunk = event.index
            return found
        if not choices:
            return found  # OpenAI may add choice-less chunks (e.g. moderation results) after usage
        self.last_choices_chunk = event.index
        if self.usage_chunk is not None and not self.late_usage:
            self.late_usage = True
            found.append(self.violation("a chunk with choices came after the usage chunk", event.index))
        for choice in choices or []:
            if not isinstance(choice, dict) or not isinstance(choice.get("index"), int):
                continue
            idx = choice["index"]
            self.seen.add(idx)
            delta = choice.get("delta") or {}
            if isinstance(delta, dict) and delta.get("role") is not None:
                self.roles[idx] += 1
                if self.roles[idx] == 2 and idx not in self.reported_role:
                    self.reported_role.add(idx)
                    found.append(self.violation(f"choice {idx} announced its role more than once", event.index))
            if idx in self.finished and _has_content(delta):
                found.append(self.violation(
                    f"choice {idx} sent content after its finish_reason (event {self.finished[idx]})",
                    event.index))
            if choice.get("finish_reason") is not None:
                if idx in self.finished:
                    found.append(self.violation(f"choice {idx} sent finish_reason twice", event.index))
                else:
                    self.finished[idx] = event.index
        return found

    def finish(self) -> list[Violation]:
        found = [self.violation(f"choice {idx} never sent a finish_reason")
                 for idx in sorted(self.seen - set(self.finished))]
        options = self.request.get("stream_options")
        wanted = isinstance(options, dict) and options.get("include_usage") is True
        if wanted and self.usage_chunk is None:
            found.append(self.violation(
                "stream_options.include_usage was requested but no chunk with empty choices and usage came"))
        elif (wanted and not self.late_usage and self.last_choices_chunk is not None
              and self.usage_chunk is not None and self.usage_chunk < self.last_choices_chunk):
            found.append(self.violation("the usage chunk came before the last chunk with choices", self.usage_chunk))
        return found


def _has_content(delta: Any) -> bool:
    if not isinstance(delta, dict):
        return False
    return bool(delta.get("content")) or bool(delta.get("tool_calls")) or bool(delta.get("refusal"))


@_register
class ChatToolCalls(StreamRule):
    """Streamed tool calls: indices from 0 without gaps, id and name on a call's first fragment,
    and argument fragments that join into a JSON object."""

    name = "chat-tool-calls"
    EVENT_TYPES = frozenset({"chunk"})

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.args: dict[tuple[int, int], list[str]] = {}
        self.first_at: dict[tuple[int, int], int] = {}

    def on_event(self, event: JudgedEvent) -> list[Violation]:
        if event.type != "chunk" or not isinstance(event.data, dict):
            return []
        found = []
        for choice in event.data.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            calls = delta.get("tool_calls") if isinstance(delta, dict) else None
            for call in calls or []:
                if not isinstance(call, dict) or not isinstance(call.get("index"), int):
                    continue
                key = (choice.get("index", 0), call["index"])
                fn = call.get("function")
                if not isinstance(fn, dict):
                    fn = {}
                if key not in self.args:
                    known = sorted(i for (c, i) in self.args if c == key[0])
                    expected_index = len(known)
                    if call["index"] != expected_index:
                        found.append(self.violation(
                            f"tool call index {call['index']} opened where index {expected_index} was expected "
                            "(indices start at 0 and grow by one)", event.index))
                    if not call.get("id") or not fn.get("name"):
                        found.append(self.violation(
                            f"the first fragment of tool call {call['index']} lacks its id or function.name",
                            event.index))
                    self.args[key] = []
                    self.first_at[key] = event.index
                if isinstance(fn.get("arguments"), str):
                    self.args[key].append(fn["arguments"])
        return found

    def finish(self) -> list[Violation]:
        found = []
        for (choice, index), parts in self.args.items():
            joined = "".join(parts)
            try:
                value = json.loads(joined)
            except (ValueError, RecursionError):
                found.append(self.violation(
                    f"choice {choice} tool call {index}: joined arguments are not JSON: {joined[:120]!r}",
                    self.first_at[(choice, index)]))
                continue
            if not isinstance(value, dict):
                found.append(self.violation(
                    f"choice {choice} tool call {index}: joined arguments are JSON but not an object",
                    self.first_at[(choice, index)]))
        return found


@_register
class AnthropicBlocks(StreamRule):
    """Claude content blocks: indices contiguous from 0, each opened once, delta'd while open with a
    delta that fits the block type, closed once, all closed before ``message_delta``; a tool_use
    block's ``input_json_delta`` fragments join into a JSON object."""

    name = "anthropic-blocks"
    EVENT_TYPES = frozenset({"content_block_start", "content_block_delta", "content_block_stop",
                             "message_delta", "message_stop"})
    DELTAS: ClassVar[dict[str, set[str]]] = {
        "text": {"text_delta", "citations_delta"},
        "tool_use": {"input_json_delta"},
        "server_tool_use": {"input_json_delta"},
        "mcp_tool_use": {"input_json_delta"},
        "thinking": {"thinking_delta", "signature_delta"},
    }

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.open: dict[int, str] = {}
        self.closed: set[int] = set()
        self.next_index = 0
        self.json_parts: dict[int, list[str]] = {}
        self.started_at: dict[int, int] = {}

    def on_event(self, event: JudgedEvent) -> list[Violation]:
        data = event.data if isinstance(event.data, dict) else {}
        index = data.get("index")
        found: list[Violation] = []
        if event.type == "content_block_start" and isinstance(index, int):
            expected = self.next_index
            if index in self.open or index in self.closed:
                found.append(self.violation(f"content block {index} started twice", event.index))
                return found
            if index != expected:
                found.append(self.violation(
                    f"content block index {index} started where {expected} was expected "
                    "(indices are contiguous from 0)", event.index))
            block = data.get("content_block")
            if not isinstance(block, dict):
                block = {}
            self.next_index = index + 1  # resynchronise: one gap is one fault
            self.open[index] = str(block.get("type"))
            self.started_at[index] = event.index
            if block.get("type") in ("tool_use", "server_tool_use", "mcp_tool_use"):
                self.json_parts[index] = []
        elif event.type == "content_block_delta" and isinstance(index, int):
            if index not in self.open:
                state = "already closed" if index in self.closed else "never started"
                found.append(self.violation(f"delta for content block {index}, which is {state}", event.index))
                return found
            delta = data.get("delta")
            if not isinstance(delta, dict):
                delta = {}
            allowed = self.DELTAS.get(self.open[index])
            if allowed is not None and delta.get("type") not in allowed:
                found.append(self.violation(
                    f"{delta.get('type')!r} delta on a {self.open[index]!r} block; expected one of: "
                    f"{', '.join(sorted(allowed))}", event.index))
            if delta.get("type") == "input_json_delta" and index in self.json_parts:
                self.json_parts[index].append(str(delta.get("partial_json", "")))
        elif event.type == "content_block_stop" and isinstance(index, int):
            if index not in self.open:
                state = "already closed" if index in self.closed else "never started"
                found.append(self.violation(f"stop for content block {index}, which is {state}", event.index))
                return found
            del self.open[index]
            self.closed.add(index)
            found.extend(self._check_json(index))
        elif event.type in ("message_delta", "message_stop") and self.open:
            found.append(self.violation(
                f"{event.type} while content block(s) {sorted(self.open)} are still open", event.index))
            self.open.clear()
        return found

    def _check_json(self, index: int) -> list[Violation]:
        parts = self.json_parts.pop(index, None)
        if parts is None:
            return []
        joined = "".join(parts) or "{}"
        try:
            value = json.loads(joined)
        except (ValueError, RecursionError):
            return [self.violation(f"input_json_delta fragments of block {index} do not join into JSON: "
                                   f"{joined[:120]!r}", self.started_at[index])]
        if not isinstance(value, dict):
            return [self.violation(f"tool input of block {index} is JSON but not an object", self.started_at[index])]
        return []


@_register
class ResponsesItems(StreamRule):
    """Responses stream: output items added then done, text deltas joining into the ``done`` text,
    and ``response.completed`` holding every item that was streamed with the same text."""

    name = "responses-items"
    EVENT_TYPES = frozenset({"response.output_item.added", "response.output_item.done", "response.output_text.delta",
                             "response.output_text.done", "response.completed"})

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.added: dict[int, int] = {}  # output_index -> event index
        self.done_items: dict[int, Any] = {}
        self.text: dict[tuple[str, int], list[str]] = defaultdict(list)
        self.done_text: dict[tuple[str, int], str] = {}
        self.completed_items = 0

    def on_event(self, event: JudgedEvent) -> list[Violation]:
        data = event.data if isinstance(event.data, dict) else {}
        found: list[Violation] = []
        if event.type == "response.output_item.added" and isinstance(data.get("output_index"), int):
            self.added[data["output_index"]] = event.index
        elif event.type == "response.output_item.done" and isinstance(data.get("output_index"), int):
            if data["output_index"] not in self.added:
                found.append(self.violation(
                    f"output item {data['output_index']} done without being added", event.index))
            self.done_items[data["output_index"]] = data.get("item")
        elif event.type == "response.output_text.delta":
            self.text[(str(data.get("item_id")), data.get("content_index", 0))].append(str(data.get("delta", "")))
        elif event.type == "response.output_text.done":
            key = (str(data.get("item_id")), data.get("content_index", 0))
            joined = "".join(self.text.get(key, []))
            done = data.get("text")
            if isinstance(done, str):
                self.done_text[key] = done
                if key in self.text and joined != done:
                    found.append(self.violation(
                        f"output_text deltas of item {key[0]} join to {joined[:80]!r} but the done event says "
                        f"{done[:80]!r}", event.index))
        elif event.type == "response.completed":
            found.extend(self._check_completed(event))
        return found

    def _check_completed(self, event: JudgedEvent) -> list[Violation]:
        response = event.data.get("response") if isinstance(event.data, dict) else None
        output = response.get("output") if isinstance(response, dict) else None
        if not isinstance(output, list):
            return []
        self.completed_items = len(output)
        found = []
        if len(output) < len(self.done_items):
            found.append(self.violation(
                f"response.completed lists {len(output)} output item(s) but {len(self.done_items)} were streamed",
                event.index))
        final_text = {}
        for item in output:
            if isinstance(item, dict) and item.get("type") == "message":
                for ci, part in enumerate(item.get("content") or []):
                    if isinstance(part, dict) and part.get("type") == "output_text":
                        final_text[(str(item.get("id")), ci)] = part.get("text")
        for key, text in self.done_text.items():
            if key in final_text and final_text[key] != text:
                found.append(self.violation(
                    f"response.completed text of item {key[0]} differs from the streamed text", event.index))
        return found

    def finish(self) -> list[Violation]:
        # OpenAI itself sometimes skips output_item.done (seen for mcp_list_tools items) while
        # response.completed still lists the item: only an item that is nowhere final is a fault.
        missing = sorted(i for i in set(self.added) - set(self.done_items) if i >= self.completed_items)
        return [self.violation(f"output item(s) {missing} were added but never done")] if missing else []


@_register
class GeminiFinish(StreamRule):
    """Gemini stream: every candidate that appears ends with a ``finishReason`` by the last chunk."""

    name = "gemini-finish"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.seen: set[int] = set()
        self.finished: set[int] = set()
        self.blocked = False

    def on_event(self, event: JudgedEvent) -> list[Violation]:
        data = event.data if isinstance(event.data, dict) else {}
        if isinstance(data.get("promptFeedback"), dict) and data["promptFeedback"].get("blockReason"):
            self.blocked = True
        for position, cand in enumerate(data.get("candidates") or []):
            if not isinstance(cand, dict):
                continue
            idx = cand.get("index", position)
            self.seen.add(idx)
            if cand.get("finishReason") is not None:
                self.finished.add(idx)
        return []

    def finish(self) -> list[Violation]:
        if self.blocked:
            return []
        return [self.violation(f"candidate {idx} never sent a finishReason")
                for idx in sorted(self.seen - self.finished)]
