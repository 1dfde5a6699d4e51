"""Reading a conversation out of each protocol's request, into one neutral ``Prompt``.

The readers are forgiving (non-objects are skipped) because strict checks already ran in the handler,
and under ``errors.accepts-invalid-input`` a malformed conversation must still produce an answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import oracle

_IMAGE_PARTS = ("image_url", "input_image", "image")
_TEXT_PARTS = ("text", "input_text", "output_text")


@dataclass
class Prompt:
    system: str = ""
    last_user: str = ""
    tool_result: str | None = None  # set when the conversation ends with a tool's answer
    tokens: int = 0
    has_image: bool = False

    def reply(self) -> str:
        return oracle.reply_text(self.last_user, self.system, self.tool_result)


@dataclass(frozen=True)
class ToolDef:
    name: str
    parameters: Any


def parts_text(content: Any) -> tuple[str, bool]:
    """The text of a string or a list of content parts, and whether an image part is among them."""
    if isinstance(content, str):
        return content, False
    texts: list[str] = []
    image = False
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in _TEXT_PARTS and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind in _IMAGE_PARTS:
            image = True
        elif kind == "tool_result":
            inner, inner_image = parts_text(part.get("content"))
            texts.append(inner)
            image = image or inner_image
    return " ".join(t for t in texts if t), image


class _Builder:
    def __init__(self) -> None:
        self.prompt = Prompt()
        self.system: list[str] = []

    def add(self, role: str, text: str, image: bool = False) -> None:
        self.prompt.tokens += oracle.count_tokens(text)
        self.prompt.has_image = self.prompt.has_image or image
        if role == "system":
            self.system.append(text)
        elif role == "user":
            self.prompt.last_user = text
            self.prompt.tool_result = None
        elif role == "tool":
            self.prompt.tool_result = text
        else:  # the assistant's own turns end any pending tool result
            self.prompt.tool_result = None

    def done(self) -> Prompt:
        self.prompt.system = " ".join(t for t in self.system if t)
        return self.prompt


def from_chat(messages: list[Any]) -> Prompt:
    roles = {"system": "system", "developer": "system", "user": "user", "tool": "tool", "function": "tool"}
    builder = _Builder()
    for message in messages:
        if isinstance(message, dict):
            text, image = parts_text(message.get("content"))
            builder.add(roles.get(str(message.get("role")), "assistant"), text, image)
    return builder.done()


def from_responses(items: Any, instructions: str | None, compaction_text: Callable[[dict[str, Any]], str]) -> Prompt:
    builder = _Builder()
    if instructions:
        builder.add("system", instructions)
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    roles = {"system": "system", "developer": "system", "user": "user"}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message":
            text, image = parts_text(item.get("content"))
            builder.add(roles.get(str(item.get("role")), "assistant"), text, image)
        elif kind == "function_call_output":
            output = item.get("output")
            builder.add("tool", output if isinstance(output, str) else json.dumps(output))
        elif kind == "compaction":
            builder.add("assistant", compaction_text(item))
    return builder.done()


def from_messages(system: Any, messages: list[Any]) -> Prompt:
    builder = _Builder()
    builder.add("system", parts_text(system)[0])
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        text, image = parts_text(content)
        results = (
            [p for p in content if isinstance(p, dict) and p.get("type") == "tool_result"]
            if isinstance(content, list)
            else []
        )
        role = "user" if message.get("role") == "user" else "assistant"
        builder.add("tool" if role == "user" and results else role, text, image)
    return builder.done()


def from_gemini(contents: list[Any], system_instruction: Any) -> Prompt:
    builder = _Builder()
    if isinstance(system_instruction, dict):
        builder.add("system", " ".join(_gemini_texts(system_instruction.get("parts"))[0]))
    for content in contents:
        if not isinstance(content, dict):
            continue
        texts, image, tool = _gemini_texts(content.get("parts"))
        role = "assistant" if content.get("role") == "model" else "user"
        builder.add("tool" if tool and role == "user" else role, " ".join(texts), image)
    return builder.done()


def _gemini_texts(parts: Any) -> tuple[list[str], bool, bool]:
    texts: list[str] = []
    image = tool = False
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str) and not part.get("thought"):
            texts.append(part["text"])
        if any(k in part for k in ("inlineData", "inline_data", "fileData", "file_data")):
            image = True
        response = part.get("functionResponse", part.get("function_response"))
        if isinstance(response, dict):
            tool = True
            texts.append(json.dumps(response.get("response", {}), ensure_ascii=False))
    return texts, image, tool


def choose_tool(tools: list[ToolDef], choice: str | tuple[str, str], after_tool_result: bool) -> ToolDef | None:
    """Which tool the sandbox calls: none for "none"; the named one; the first for "required";
    the first for "auto" unless the conversation already ends with a tool's answer."""
    if not tools or choice == "none":
        return None
    if isinstance(choice, tuple):
        return next((t for t in tools if t.name == choice[1]), None)
    if choice == "required" or not after_tool_result:
        return tools[0]
    return None
